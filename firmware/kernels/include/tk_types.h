/* tinykit kernel types shared by every kernel and every generated model.
 *
 * Kernel convention (one argument order for all):
 *   tk_status tk_<op>_s8(const tk_<op>_params *params, const int8_t *input[, const int8_t *input2],
 *                        int8_t *output[, void *scratch]);
 * Constant data (weights, biases, per-channel multipliers/shifts, LUTs) are pointers inside the
 * params struct, which the generated NAME.c defines as `static const`, so every shape is known at
 * compile time. A kernel that needs scratch memory has `size_t tk_<op>_s8_buffer_size(...)` whose
 * formula equals the op handler's `scratch_bytes` in tinykit/ir/ops.py.
 */
#ifndef TK_TYPES_H
#define TK_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { TK_OK = 0, TK_ERROR = 1 } tk_status;

/* Element type of a model input or output (the generated NAME_input_type(i) / NAME_output_type(i)). */
typedef enum {
    TK_TYPE_INT8 = 0,
    TK_TYPE_UINT8 = 1,
    TK_TYPE_INT16 = 2,
    TK_TYPE_UINT16 = 3,
    TK_TYPE_INT32 = 4,
    TK_TYPE_UINT32 = 5,
    TK_TYPE_INT64 = 6,
    TK_TYPE_FLOAT32 = 7,
    TK_TYPE_BOOL = 8
} tk_type;

/* NHWC shape; lower-rank tensors fill the leading dimensions with 1. */
typedef struct {
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t c;
} tk_dims;

/* A requantization: real multiplier = multiplier * 2^(shift - 31) (TFLite QuantizeMultiplier). */
typedef struct {
    int32_t multiplier;
    int32_t shift;
} tk_quant_params;

/* Output clamp range after the fused activation (CalculateActivationRangeQuantized). */
typedef struct {
    int32_t min;
    int32_t max;
} tk_activation;

#if defined(__GNUC__) || defined(__clang__)
#define TK_ALIGN(n) __attribute__((aligned(n)))
#define TK_INLINE static inline __attribute__((always_inline))
#define TK_UNUSED __attribute__((unused))
#define TK_NOINLINE __attribute__((noinline))
#else
#define TK_ALIGN(n)
#define TK_INLINE static inline
#define TK_UNUSED
#define TK_NOINLINE
#endif

#ifdef __cplusplus
}
#endif

#endif /* TK_TYPES_H */
