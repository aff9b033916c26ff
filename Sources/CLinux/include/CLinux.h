// Linux calls that Swift's Glibc module does not export (they need _GNU_SOURCE).
#ifndef TANDEM_CLINUX_H
#define TANDEM_CLINUX_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>

/// Starts writing the dirty pages of `offset..<offset + length` of `descriptor` to disk, without waiting.
static inline int tandem_start_writeback(int descriptor, long long offset, long long length) {
    return sync_file_range(descriptor, offset, length, SYNC_FILE_RANGE_WRITE);
}

/// Makes glibc give allocations of `threshold` bytes and more mappings of their own, which free() hands back to the
/// kernel at once, and keeps it from raising that threshold by itself (it does after each such free by default,
/// so a burst of large buffers would stay in the heap after the connections that held them are gone).
static inline void tandem_return_large_allocations(int threshold) {
    mallopt(M_MMAP_THRESHOLD, threshold);
}

/// Raises this process's soft limit on open descriptors to its hard limit (Debian's soft default is 1024), so the
/// connection limits of cluster.yaml, not the system's default, decide how many clients are served.
static inline void tandem_raise_descriptor_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

#endif
