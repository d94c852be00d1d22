/* CAST, ZEROS_LIKE and FILL: element type conversion and constant fills, as TFLite Micro does them.
 *
 * tk_cast converts element by element as the pinned runtime's CAST does: integers wrap modulo 2^n,
 * integer -> float rounds to nearest, float -> integer truncates toward zero and saturates (NaN
 * gives 0), bool reads as 0/1. One entry point dispatches on the
 * (from, to) pair once per call, outside the loop. Same-size conversions are safe in place.
 * tk_zeros writes raw zero bytes (not the zero point); tk_fill repeats one element's bytes.
 */
#ifndef TK_CAST_H
#define TK_CAST_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Element types of tk_cast. */
enum { TK_T_INT8 = 0, TK_T_INT16 = 1, TK_T_INT32 = 2, TK_T_UINT32 = 3, TK_T_FLOAT32 = 4, TK_T_BOOL = 5 };

typedef struct {
    int32_t size;
    int32_t from; /* TK_T_* */
    int32_t to;   /* TK_T_*, not TK_T_BOOL */
} tk_cast_params;

typedef struct {
    int32_t bytes;
} tk_zeros_params;

typedef struct {
    int32_t size;       /* elements */
    int32_t elem_bytes; /* 1, 2, 4 or 8 */
} tk_fill_params;

tk_status tk_cast(const tk_cast_params *params, const void *input, void *output);
tk_status tk_zeros(const tk_zeros_params *params, const void *input, void *output);
tk_status tk_fill(const tk_fill_params *params, const void *value, void *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_CAST_H */
