// Linux calls that Swift's Glibc module does not export (they need _GNU_SOURCE).
#ifndef TANDEM_CLINUX_H
#define TANDEM_CLINUX_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>

/// Starts writing the dirty pages of `offset..<offset + length` of `descriptor` to disk, without waiting.
static inline int tandem_start_writeback(int descriptor, long long offset, long long length) {
    return sync_file_range(descriptor, offset, length, SYNC_FILE_RANGE_WRITE);
}

#endif
