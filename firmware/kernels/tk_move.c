#include "tk_move.h"

#include <string.h>

#include "tk_copy.h"

/* One output row: n elements whose input addresses advance by `step` elements. */
static void tk_copy_row(uint8_t *dst, const uint8_t *src, int32_t n, int32_t step, size_t esize)
{
    if (step == 1) {
        tk_copy_bytes(dst, src, (size_t)n * esize);
        return;
    }
    switch (esize) {
    case 1: {
        int8_t *d = (int8_t *)dst;
        const int8_t *s = (const int8_t *)src;
        if (step == -1) { /* REVERSE_V2 of the last axis: four bytes at a time, byte-swapped */
            int32_t i = 0;
            for (; i + 4 <= n; i += 4, s -= 4) {
                uint32_t w;
                memcpy(&w, s - 3, 4);
                w = __builtin_bswap32(w);
                memcpy(d + i, &w, 4);
            }
            for (; i < n; ++i, --s) {
                d[i] = *s;
            }
            break;
        }
        for (int32_t i = 0; i < n; ++i, s += step) {
            d[i] = *s;
        }
        break;
    }
    case 2: {
        int16_t *d = (int16_t *)(void *)dst;
        const int16_t *s = (const int16_t *)(const void *)src;
        for (int32_t i = 0; i < n; ++i, s += step) {
            d[i] = *s;
        }
        break;
    }
    default: {
        int32_t *d = (int32_t *)(void *)dst;
        const int32_t *s = (const int32_t *)(const void *)src;
        for (int32_t i = 0; i < n; ++i, s += step) {
            d[i] = *s;
        }
        break;
    }
    }
}

/* One output row of single elements picked by a table of input offsets. */
static void tk_copy_row_table(uint8_t *dst, const uint8_t *src, const int32_t *table, int32_t n, size_t esize)
{
    switch (esize) {
    case 1: {
        int8_t *d = (int8_t *)dst;
        const int8_t *s = (const int8_t *)src;
        for (int32_t i = 0; i < n; ++i) {
            d[i] = s[table[i]];
        }
        break;
    }
    case 2: {
        int16_t *d = (int16_t *)(void *)dst;
        const int16_t *s = (const int16_t *)(const void *)src;
        for (int32_t i = 0; i < n; ++i) {
            d[i] = s[table[i]];
        }
        break;
    }
    default: {
        int32_t *d = (int32_t *)(void *)dst;
        const int32_t *s = (const int32_t *)(const void *)src;
        for (int32_t i = 0; i < n; ++i) {
            d[i] = s[table[i]];
        }
        break;
    }
    }
}

/* Walks the outer axes like an odometer, moving the source pointer by whole strides (no index
 * arithmetic per element, no division anywhere). */
static tk_status tk_strided_copy(const tk_strided_copy_params *p, const uint8_t *input, uint8_t *output,
                                 size_t esize)
{
    const int32_t rank = p->rank;
    if (rank < 1 || rank > TK_MOVE_MAX_DIMS) {
        return TK_ERROR;
    }
    const int32_t last = rank - 1;
    const int32_t n = p->shape[last];
    int32_t rows = 1;
    for (int32_t d = 0; d < last; ++d) {
        rows *= p->shape[d];
    }
    if (rows <= 0 || n <= 0) {
        return TK_OK;
    }
    int32_t count[TK_MOVE_MAX_DIMS] = {0};
    const size_t row_bytes = (size_t)n * esize;
    const uint8_t *src = input + (ptrdiff_t)p->offset * (ptrdiff_t)esize;
    for (int32_t r = 0; r < rows; ++r) {
        tk_copy_row(output, src, n, p->stride[last], esize);
        output += row_bytes;
        for (int32_t d = last - 1; d >= 0; --d) {
            src += (ptrdiff_t)p->stride[d] * (ptrdiff_t)esize;
            if (++count[d] < p->shape[d]) {
                break;
            }
            count[d] = 0;
            src -= (ptrdiff_t)p->stride[d] * (ptrdiff_t)p->shape[d] * (ptrdiff_t)esize;
        }
    }
    return TK_OK;
}

tk_status tk_strided_copy_s8(const tk_strided_copy_params *params, const int8_t *input, int8_t *output)
{
    return tk_strided_copy(params, (const uint8_t *)input, (uint8_t *)output, 1);
}

tk_status tk_strided_copy_s16(const tk_strided_copy_params *params, const int16_t *input, int16_t *output)
{
    return tk_strided_copy(params, (const uint8_t *)(const void *)input, (uint8_t *)(void *)output, 2);
}

tk_status tk_strided_copy_s32(const tk_strided_copy_params *params, const int32_t *input, int32_t *output)
{
    return tk_strided_copy(params, (const uint8_t *)(const void *)input, (uint8_t *)(void *)output, 4);
}

/* Per output row (all table axes but the last): the base offset is the sum of the outer axes'
 * table entries; the last axis then copies `inner` elements from base + its own entry. */
static tk_status tk_table_copy(const tk_table_copy_params *p, const uint8_t *input, uint8_t *output, size_t esize)
{
    const int32_t rank = p->rank;
    if (rank < 1 || rank > TK_MOVE_MAX_DIMS) {
        return TK_ERROR;
    }
    const int32_t last = rank - 1, n = p->shape[last];
    const int32_t *tables[TK_MOVE_MAX_DIMS];
    int32_t count[TK_MOVE_MAX_DIMS] = {0}, rows = 1;
    const int32_t *t = p->table;
    for (int32_t d = 0; d < rank; ++d) {
        tables[d] = t;
        t += p->shape[d];
        rows *= d < last ? p->shape[d] : 1;
    }
    const int32_t *row_table = tables[last];
    const size_t block = (size_t)p->inner * esize;
    for (int32_t r = 0; r < rows; ++r) {
        int32_t base = 0;
        for (int32_t d = 0; d < last; ++d) {
            base += tables[d][count[d]];
        }
        const uint8_t *src = input + (ptrdiff_t)base * (ptrdiff_t)esize;
        if (block == esize) {
            tk_copy_row_table(output, src, row_table, n, esize);
            output += (size_t)n * esize;
        } else {
            for (int32_t i = 0; i < n; ++i, output += block) {
                tk_copy_bytes(output, src + (ptrdiff_t)row_table[i] * (ptrdiff_t)esize, block);
            }
        }
        for (int32_t d = last - 1; d >= 0 && ++count[d] == p->shape[d]; --d) {
            count[d] = 0;
        }
    }
    return TK_OK;
}

tk_status tk_table_copy_s8(const tk_table_copy_params *params, const int8_t *input, int8_t *output)
{
    return tk_table_copy(params, (const uint8_t *)input, (uint8_t *)output, 1);
}

tk_status tk_table_copy_s16(const tk_table_copy_params *params, const int16_t *input, int16_t *output)
{
    return tk_table_copy(params, (const uint8_t *)(const void *)input, (uint8_t *)(void *)output, 2);
}

tk_status tk_table_copy_s32(const tk_table_copy_params *params, const int32_t *input, int32_t *output)
{
    return tk_table_copy(params, (const uint8_t *)(const void *)input, (uint8_t *)(void *)output, 4);
}

/* Output by output: each takes `bytes` of every input row of `total` bytes, so its copy loop has one
 * fixed size and stride (UNPACK of the last axis: one byte per row, no call per element). */
static tk_status tk_split(const tk_split_params *p, const uint8_t *input, size_t esize)
{
    size_t total = 0;
    for (int32_t i = 0; i < p->num_outputs; ++i) {
        total += (size_t)p->sizes[i] * esize;
    }
    const int32_t outer = p->outer;
    for (int32_t i = 0; i < p->num_outputs; ++i) {
        const size_t bytes = (size_t)p->sizes[i] * esize;
        const uint8_t *src = input;
        uint8_t *dst = (uint8_t *)p->outputs[i];
        if (bytes == 1) {
            for (int32_t o = 0; o < outer; ++o, src += total) {
                *dst++ = *src;
            }
        } else {
            for (int32_t o = 0; o < outer; ++o, src += total, dst += bytes) {
                tk_copy_bytes(dst, src, bytes);
            }
        }
        input += bytes;
    }
    return TK_OK;
}

tk_status tk_split_s8(const tk_split_params *params, const int8_t *input)
{
    return tk_split(params, (const uint8_t *)input, 1);
}

tk_status tk_split_s16(const tk_split_params *params, const int16_t *input)
{
    return tk_split(params, (const uint8_t *)(const void *)input, 2);
}

tk_status tk_split_s32(const tk_split_params *params, const int32_t *input)
{
    return tk_split(params, (const uint8_t *)(const void *)input, 4);
}
