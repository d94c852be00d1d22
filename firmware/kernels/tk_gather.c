#include "tk_gather.h"

#include <string.h>

#include "tk_copy.h"

tk_status tk_gather_s8(const tk_gather_params *p, const int8_t *input, const int32_t *coords, int8_t *output)
{
    const size_t inner = (size_t)p->inner;
    const size_t block = (size_t)p->axis_size * inner; /* one (batch, outer) slab of the input */
    for (int32_t b = 0; b < p->batch; ++b, coords += p->coords) {
        for (int32_t o = 0; o < p->outer; ++o) {
            const int8_t *slab = input + ((size_t)b * (size_t)p->outer + (size_t)o) * block;
            for (int32_t i = 0; i < p->coords; ++i, output += inner) {
                const int32_t c = coords[i];
                if (c < 0 || c >= p->axis_size) {
                    return TK_ERROR;
                }
                tk_copy_bytes(output, slab + (size_t)c * inner, inner);
            }
        }
    }
    return TK_OK;
}

tk_status tk_gather_nd_s8(const tk_gather_nd_params *p, const int8_t *input, const int32_t *indices, int8_t *output)
{
    for (int32_t i = 0; i < p->slices; ++i, indices += p->nd, output += p->slice_size) {
        uint32_t sum = 0; /* TFLM's int arithmetic, wrapping instead of undefined on overflow */
        for (int32_t j = 0; j < p->nd; ++j) {
            sum += (uint32_t)indices[j] * (uint32_t)p->dim_counts[j];
        }
        const int32_t from = (int32_t)sum;
        if (from < 0 || from > p->params_size - p->slice_size) {
            return TK_ERROR;
        }
        tk_copy_bytes(output, input + from, (size_t)p->slice_size);
    }
    return TK_OK;
}

static int64_t tk_start_index(const tk_dynamic_update_slice_params *p, const void *starts, int32_t axis)
{
    const int64_t raw = p->indices_64 ? ((const int64_t *)starts)[axis] : ((const int32_t *)starts)[axis];
    const int64_t hi = (int64_t)p->operand[axis] - p->update[axis];
    return raw < 0 ? 0 : raw > hi ? hi : raw;
}

static tk_status tk_dynamic_update_slice(const tk_dynamic_update_slice_params *p, const uint8_t *operand,
                                         const uint8_t *update, const void *starts, uint8_t *output, size_t esize)
{
    const int32_t rank = p->rank, last = rank - 1;
    if (rank < 1 || rank > TK_UPDATE_MAX_DIMS) {
        return TK_ERROR;
    }
    size_t total = 1, updates = 1, stride[TK_UPDATE_MAX_DIMS];
    for (int32_t d = last; d >= 0; --d) {
        stride[d] = total;
        total *= (size_t)p->operand[d];
        updates *= (size_t)p->update[d];
    }
    if (updates == total) {
        memcpy(output, update, total * esize);
        return TK_OK;
    }
    if (output != operand) {
        memcpy(output, operand, total * esize);
    }
    if (updates == 0) {
        return TK_OK;
    }
    size_t at = 0;
    for (int32_t d = 0; d < rank; ++d) {
        at += (size_t)tk_start_index(p, starts, d) * stride[d];
    }
    const size_t row = (size_t)p->update[last] * esize;
    int32_t count[TK_UPDATE_MAX_DIMS] = {0};
    for (size_t done = 0; done < updates; done += (size_t)p->update[last], update += row) {
        tk_copy_bytes(output + at * esize, update, row);
        for (int32_t d = last - 1; d >= 0; --d) {
            at += stride[d];
            if (++count[d] < p->update[d]) {
                break;
            }
            count[d] = 0;
            at -= stride[d] * (size_t)p->update[d];
        }
    }
    return TK_OK;
}

tk_status tk_dynamic_update_slice_s8(const tk_dynamic_update_slice_params *params, const int8_t *operand,
                                     const int8_t *update, const void *starts, int8_t *output)
{
    return tk_dynamic_update_slice(params, (const uint8_t *)operand, (const uint8_t *)update, starts,
                                   (uint8_t *)output, 1);
}

tk_status tk_dynamic_update_slice_s16(const tk_dynamic_update_slice_params *params, const int16_t *operand,
                                      const int16_t *update, const void *starts, int16_t *output)
{
    return tk_dynamic_update_slice(params, (const uint8_t *)(const void *)operand,
                                   (const uint8_t *)(const void *)update, starts, (uint8_t *)(void *)output, 2);
}

tk_status tk_dynamic_update_slice_s32(const tk_dynamic_update_slice_params *params, const int32_t *operand,
                                      const int32_t *update, const void *starts, int32_t *output)
{
    return tk_dynamic_update_slice(params, (const uint8_t *)(const void *)operand,
                                   (const uint8_t *)(const void *)update, starts, (uint8_t *)(void *)output, 4);
}
