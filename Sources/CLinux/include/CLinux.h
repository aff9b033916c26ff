// Linux calls that Swift's Glibc module does not export (they need _GNU_SOURCE). Only declarations here: the
// system headers are included by CLinux.c alone, so _GNU_SOURCE's versions of them never meet Glibc's in a module.
#ifndef TANDEM_CLINUX_H
#define TANDEM_CLINUX_H

/// Starts writing the dirty pages of `offset..<offset + length` of `descriptor` to disk, without waiting.
int tandem_start_writeback(int descriptor, long long offset, long long length);

/// Makes glibc give allocations of `threshold` bytes and more mappings of their own, which free() hands back to the
/// kernel at once, and keeps it from raising that threshold by itself (it does after each such free by default,
/// so a burst of large buffers would stay in the heap after the connections that held them are gone).
void tandem_return_large_allocations(int threshold);

/// Raises this process's soft limit on open descriptors to its hard limit (Debian's soft default is 1024), so the
/// connection limits of cluster.yaml, not the system's default, decide how many clients are served.
void tandem_raise_descriptor_limit(void);

/// Starts the program at `path` with `argv` and `envp` (both ending in NULL) in `directory`, in a process group of
/// its own, its standard input, output and error on `input`, `output` and `error`; every other descriptor is closed
/// in the child, so it inherits none that another thread opens meanwhile, and it starts with no signal blocked and
/// every signal at its default action. Sets `*pid`; returns 0 or an errno.
int tandem_spawn(int *pid, const char *path, char *const argv[], char *const envp[], const char *directory,
                 int input, int output, int error);

#endif
