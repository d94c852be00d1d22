/* Comparisons (EQUAL, NOT_EQUAL, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL), SELECT_V2 and the
 * logical ops (LOGICAL_AND, LOGICAL_OR, LOGICAL_NOT), with TFLite broadcasting, TFLite Micro
 * reference semantics. Bool tensors hold one byte, 0 or 1.
 *
 * int8 comparisons compare the inputs rescaled as TFLM does (left shift 8, each input's own
 * multiplier): that value depends on one byte, so the generator tabulates it (two int32 tables).
 * int32 and bool compare the stored values.
 */
#ifndef TK_COMPARE_H
#define TK_COMPARE_H

#include "tk_loops.h"
#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { TK_CMP_EQUAL = 0, TK_CMP_NOT_EQUAL, TK_CMP_LESS, TK_CMP_LESS_EQUAL, TK_CMP_GREATER, TK_CMP_GREATER_EQUAL };

typedef struct {
    tk_broadcast shape;
    int32_t op;            /* TK_CMP_* */
    const int32_t *table1; /* int8: 256 entries by input-1 byte, the rescaled value */
    const int32_t *table2;
} tk_compare_params;

/* SELECT_V2 (operands: condition, x, y) and the logical ops: only the loop nest. */
typedef struct {
    tk_broadcast shape;
} tk_select_params;

tk_status tk_compare_s8(const tk_compare_params *params, const int8_t *input, const int8_t *input2,
                        uint8_t *output);
tk_status tk_compare_s32(const tk_compare_params *params, const int32_t *input, const int32_t *input2,
                         uint8_t *output);
tk_status tk_compare_b8(const tk_compare_params *params, const uint8_t *input, const uint8_t *input2,
                        uint8_t *output);

tk_status tk_select_v2_s8(const tk_select_params *params, const uint8_t *condition, const int8_t *x,
                          const int8_t *y, int8_t *output);
tk_status tk_select_v2_s16(const tk_select_params *params, const uint8_t *condition, const int16_t *x,
                           const int16_t *y, int16_t *output);

tk_status tk_logical_and_b8(const tk_select_params *params, const uint8_t *input, const uint8_t *input2,
                            uint8_t *output);
tk_status tk_logical_or_b8(const tk_select_params *params, const uint8_t *input, const uint8_t *input2,
                           uint8_t *output);
/* LOGICAL_NOT: `size` elements; the output may alias the input. */
typedef struct {
    int32_t size;
} tk_logical_not_params;
tk_status tk_logical_not_b8(const tk_logical_not_params *params, const uint8_t *input, uint8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_COMPARE_H */
