/* Short copies without a library call. The data-movement kernels copy rows that are often only a
 * few bytes long (a pixel's channels, a depth-to-space block); a call to memcpy costs more than such
 * a copy, while memcpy with a constant size compiles to a few loads and stores. */
#ifndef TK_COPY_H
#define TK_COPY_H

#include <string.h>

#include "tk_types.h"

TK_INLINE void tk_copy_bytes(void *dst, const void *src, size_t bytes)
{
    switch (bytes) {
    case 1:
        memcpy(dst, src, 1);
        break;
    case 2:
        memcpy(dst, src, 2);
        break;
    case 4:
        memcpy(dst, src, 4);
        break;
    case 8:
        memcpy(dst, src, 8);
        break;
    case 12:
        memcpy(dst, src, 12);
        break;
    case 16:
        memcpy(dst, src, 16);
        break;
    default:
        memcpy(dst, src, bytes);
        break;
    }
}

#endif /* TK_COPY_H */
