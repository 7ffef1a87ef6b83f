/* keyfile.h: secret key files: written whole through a private temporary file, read only when owner-only. */
#ifndef CANTEEN_KEYFILE_H
#define CANTEEN_KEYFILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Write len bytes as the new content of path, a file of mode 0600 owned by the caller: they
 * go to a new temporary file beside it (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600), are synced,
 * and the file is then renamed to path. With replace, an existing path is replaced (its old
 * file is not opened, so neither its content nor its owner carries over); without, an
 * existing path is an error naming strerror(EEXIST). A symbolic link at path is refused.
 * 0, or -1 with a sentence in err.
 */
int keyfile_write(const char *path, const void *data, size_t len, int replace, char *err,
                  size_t errlen);

/*
 * Read the whole of path into buf (cap bytes; the content is NUL-terminated, so at most
 * cap - 1 bytes) when it is a regular file (not a symbolic link, not a FIFO), owned by the
 * caller or by root, with no permission for group or others. Returns the length, or -1 with
 * a sentence in err (a file of cap - 1 bytes or more is "too long").
 */
ssize_t keyfile_read(const char *path, char *buf, size_t cap, char *err, size_t errlen);

#endif
