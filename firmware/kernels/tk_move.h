/* Data movement by strided views: TRANSPOSE, STRIDED_SLICE, SLICE, BROADCAST_TO, REVERSE_V2,
 * SPACE_TO_DEPTH, DEPTH_TO_SPACE (one strided copy), MIRROR_PAD, RESIZE_NEAREST_NEIGHBOR,
 * BATCH_TO_SPACE_ND (one table-driven copy), and SPLIT, SPLIT_V, UNPACK (one split).
 *
 * These ops only move elements, and every one of them is, for a given model, a fixed mapping
 * from output position to input position that is affine per output axis. The generator works
 * that mapping out once (TFLite Micro's Prepare-time index logic, in Python), merges the axes that
 * stay contiguous and hands the kernel: the output extents, the input step per output axis (in
 * elements; 0 repeats for a broadcast, negative walks backwards for a reversal) and the input
 * element of output element 0. The kernel writes the output in order, one innermost row at a
 * time: a memcpy when the row is contiguous in the input, a typed loop otherwise.
 *
 * Entry points per element size (_s8 also serves bool, _s32 serves int32); the element type never
 * matters beyond its size.
 */
#ifndef TK_MOVE_H
#define TK_MOVE_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TK_MOVE_MAX_DIMS 6

typedef struct {
    int32_t rank;                     /* 1..TK_MOVE_MAX_DIMS output axes (after merging) */
    int32_t shape[TK_MOVE_MAX_DIMS];  /* output extents, outermost first */
    int32_t stride[TK_MOVE_MAX_DIMS]; /* input step (elements) per output step along each axis */
    int32_t offset;                   /* input element of output element 0 */
} tk_strided_copy_params;

tk_status tk_strided_copy_s8(const tk_strided_copy_params *params, const int8_t *input, int8_t *output);
tk_status tk_strided_copy_s16(const tk_strided_copy_params *params, const int16_t *input, int16_t *output);
tk_status tk_strided_copy_s32(const tk_strided_copy_params *params, const int32_t *input, int32_t *output);

/* MIRROR_PAD, RESIZE_NEAREST_NEIGHBOR, BATCH_TO_SPACE_ND: output index -> input position is a sum
 * of one term per output axis, each looked up in a table the generator computed (TFLM's index
 * arithmetic, divisions included, evaluated once at generation time). The innermost `inner`
 * elements (e.g. the channels) are contiguous in both tensors and copied as a block. */
typedef struct {
    int32_t rank;                    /* table axes, 1..TK_MOVE_MAX_DIMS */
    int32_t shape[TK_MOVE_MAX_DIMS]; /* output extents of the table axes */
    const int32_t *table;            /* per axis in turn, shape[d] input element offsets */
    int32_t inner;                   /* contiguous elements per table entry of the last axis */
} tk_table_copy_params;

tk_status tk_table_copy_s8(const tk_table_copy_params *params, const int8_t *input, int8_t *output);
tk_status tk_table_copy_s16(const tk_table_copy_params *params, const int16_t *input, int16_t *output);
tk_status tk_table_copy_s32(const tk_table_copy_params *params, const int32_t *input, int32_t *output);

/* SPLIT / SPLIT_V / UNPACK: the input viewed as [outer][sum of sizes]; each outer row hands
 * sizes[i] consecutive elements to output i (the inverse of CONCATENATION). The output pointers
 * live in the params because their number varies. */
typedef struct {
    int32_t num_outputs;
    int32_t outer;         /* product of the input dimensions before the axis */
    const int32_t *sizes;  /* per output: its axis extent * product of the dimensions after */
    void *const *outputs;  /* num_outputs arena pointers */
} tk_split_params;

tk_status tk_split_s8(const tk_split_params *params, const int8_t *input);
tk_status tk_split_s16(const tk_split_params *params, const int16_t *input);
tk_status tk_split_s32(const tk_split_params *params, const int32_t *input);

#ifdef __cplusplus
}
#endif

#endif /* TK_MOVE_H */
