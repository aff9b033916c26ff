#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>

#include "CLinux.h"

int tandem_start_writeback(int descriptor, long long offset, long long length) {
    return sync_file_range(descriptor, offset, length, SYNC_FILE_RANGE_WRITE);
}

void tandem_return_large_allocations(int threshold) {
    mallopt(M_MMAP_THRESHOLD, threshold);
}

void tandem_raise_descriptor_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}
