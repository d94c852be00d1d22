/* A hot kernel: built for speed even when the firmware is built for size (-Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2")
#endif
#include "tk_compare.h"


/* The tables a comparison maps int8 operands through, held by value in registers. */
typedef struct {
    const int32_t *t1;
    const int32_t *t2;
} tk_cmp_ctx;

/* The value an operand is compared by: its table entry (int8) or itself. */
TK_INLINE int32_t tk_cmp_table1(tk_cmp_ctx c, int32_t x) { return c.t1[(uint8_t)x]; }
TK_INLINE int32_t tk_cmp_table2(tk_cmp_ctx c, int32_t x) { return c.t2[(uint8_t)x]; }
TK_INLINE int32_t tk_cmp_raw(tk_cmp_ctx c, int32_t x)
{
    (void)c;
    return x;
}

/* The six comparisons of one operand mapping: element functions and their row functions. */
#define TK_DEFINE_CMP1(prefix, name, OPER, T, V1, V2)                                                       \
    TK_INLINE uint8_t prefix##_##name(tk_cmp_ctx c, T a, T b) { return (uint8_t)(V1(c, a) OPER V2(c, b)); } \
    TK_DEFINE_BROADCAST_ROW(prefix##_##name##_row, T, T, uint8_t, prefix##_##name, tk_cmp_ctx)
#define TK_DEFINE_CMP(prefix, T, V1, V2)                                                                    \
    TK_DEFINE_CMP1(prefix, eq, ==, T, V1, V2)                                                               \
    TK_DEFINE_CMP1(prefix, ne, !=, T, V1, V2)                                                               \
    TK_DEFINE_CMP1(prefix, lt, <, T, V1, V2)                                                                \
    TK_DEFINE_CMP1(prefix, le, <=, T, V1, V2)                                                               \
    TK_DEFINE_CMP1(prefix, gt, >, T, V1, V2)                                                                \
    TK_DEFINE_CMP1(prefix, ge, >=, T, V1, V2)

TK_DEFINE_CMP(tk_cmp8, int8_t, tk_cmp_table1, tk_cmp_table2)
TK_DEFINE_CMP(tk_cmp32, int32_t, tk_cmp_raw, tk_cmp_raw)
TK_DEFINE_CMP(tk_cmpb, uint8_t, tk_cmp_raw, tk_cmp_raw)

#define TK_RUN_CMP(op, prefix, B, IN1, IN2, OUT, C)                                                      \
    switch (op) {                                                                                         \
    case TK_CMP_EQUAL: TK_BROADCAST_BINARY(B, IN1, IN2, OUT, prefix##_eq_row, C); break;                \
    case TK_CMP_NOT_EQUAL: TK_BROADCAST_BINARY(B, IN1, IN2, OUT, prefix##_ne_row, C); break;            \
    case TK_CMP_LESS: TK_BROADCAST_BINARY(B, IN1, IN2, OUT, prefix##_lt_row, C); break;                 \
    case TK_CMP_LESS_EQUAL: TK_BROADCAST_BINARY(B, IN1, IN2, OUT, prefix##_le_row, C); break;           \
    case TK_CMP_GREATER: TK_BROADCAST_BINARY(B, IN1, IN2, OUT, prefix##_gt_row, C); break;              \
    case TK_CMP_GREATER_EQUAL: TK_BROADCAST_BINARY(B, IN1, IN2, OUT, prefix##_ge_row, C); break;        \
    default: return TK_ERROR;                                                                             \
    }

static tk_cmp_ctx tk_cmp_ctx_tables(const tk_compare_params *p)
{
    tk_cmp_ctx c;
    c.t1 = p->table1;
    c.t2 = p->table2;
    return c;
}

tk_status tk_compare_s8(const tk_compare_params *params, const int8_t *input, const int8_t *input2,
                        uint8_t *output)
{
    const tk_cmp_ctx c = tk_cmp_ctx_tables(params);
    TK_RUN_CMP(params->op, tk_cmp8, &params->shape, input, input2, output, c)
    return TK_OK;
}

tk_status tk_compare_s32(const tk_compare_params *params, const int32_t *input, const int32_t *input2,
                         uint8_t *output)
{
    const tk_cmp_ctx c = tk_cmp_ctx_tables(params);
    TK_RUN_CMP(params->op, tk_cmp32, &params->shape, input, input2, output, c)
    return TK_OK;
}

tk_status tk_compare_b8(const tk_compare_params *params, const uint8_t *input, const uint8_t *input2,
                        uint8_t *output)
{
    const tk_cmp_ctx c = tk_cmp_ctx_tables(params);
    TK_RUN_CMP(params->op, tk_cmpb, &params->shape, input, input2, output, c)
    return TK_OK;
}

/* ---- SELECT_V2 ------------------------------------------------------------------------------- */

/* One row of SELECT_V2: loop-0 strides are 0 or 1. A broadcast condition picks one source for
 * the whole row (a copy or a fill); otherwise each element picks, with the sources stepping by
 * their own strides. */
#define TK_SELECT_ROW(T, C, SC, X, SX, Y, SY, OUT, N)                                                      \
    do {                                                                                                  \
        if (!(SC)) {                                                                                      \
            const T *src_ = *(C) ? (X) : (Y);                                                             \
            if (*(C) ? (SX) : (SY)) {                                                                     \
                for (int32_t i_ = 0; i_ < (N); ++i_) (OUT)[i_] = src_[i_];                                \
            } else {                                                                                      \
                const T v_ = *src_;                                                                       \
                for (int32_t i_ = 0; i_ < (N); ++i_) (OUT)[i_] = v_;                                      \
            }                                                                                             \
        } else if ((SX) && (SY)) {                                                                        \
            for (int32_t i_ = 0; i_ < (N); ++i_) (OUT)[i_] = (C)[i_] ? (X)[i_] : (Y)[i_];                 \
        } else {                                                                                          \
            const T *x_ = (X), *y_ = (Y);                                                                 \
            for (int32_t i_ = 0; i_ < (N); ++i_, x_ += (SX), y_ += (SY)) (OUT)[i_] = (C)[i_] ? *x_ : *y_; \
        }                                                                                                 \
    } while (0)

/* The walk of the three-operand nest, one row at a time. */
#define TK_SELECT_WALK(T, B, COND, X, Y, OUT)                                                              \
    do {                                                                                                  \
        const int32_t n_ = (B)->extent[0];                                                                \
        const int32_t sc_ = (B)->stride[0][0], sx_ = (B)->stride[1][0], sy_ = (B)->stride[2][0];          \
        int32_t index_[TK_LOOPS_MAX_DIMS] = {0};                                                          \
        int32_t off_[TK_BROADCAST_OPERANDS] = {0, 0, 0};                                                  \
        for (int32_t r_ = 0; r_ < (B)->rows; ++r_) {                                                      \
            TK_SELECT_ROW(T, (COND) + off_[0], sc_, (X) + off_[1], sx_, (Y) + off_[2], sy_, OUT, n_);     \
            (OUT) += n_;                                                                                  \
            tk_broadcast_next((B), index_, off_);                                                         \
        }                                                                                                 \
    } while (0)

tk_status tk_select_v2_s8(const tk_select_params *params, const uint8_t *condition, const int8_t *x,
                          const int8_t *y, int8_t *output)
{
    TK_SELECT_WALK(int8_t, &params->shape, condition, x, y, output);
    return TK_OK;
}

tk_status tk_select_v2_s16(const tk_select_params *params, const uint8_t *condition, const int16_t *x,
                           const int16_t *y, int16_t *output)
{
    TK_SELECT_WALK(int16_t, &params->shape, condition, x, y, output);
    return TK_OK;
}

/* ---- logical ops ----------------------------------------------------------------------------- */

#define TK_AND_ELEM(c, a, b) ((uint8_t)((a) && (b)))
#define TK_OR_ELEM(c, a, b) ((uint8_t)((a) || (b)))
TK_DEFINE_BROADCAST_ROW(tk_and_row, uint8_t, uint8_t, uint8_t, TK_AND_ELEM, int)
TK_DEFINE_BROADCAST_ROW(tk_or_row, uint8_t, uint8_t, uint8_t, TK_OR_ELEM, int)

tk_status tk_logical_and_b8(const tk_select_params *params, const uint8_t *input, const uint8_t *input2,
                            uint8_t *output)
{
    TK_BROADCAST_BINARY(&params->shape, input, input2, output, tk_and_row, 0);
    return TK_OK;
}

tk_status tk_logical_or_b8(const tk_select_params *params, const uint8_t *input, const uint8_t *input2,
                           uint8_t *output)
{
    TK_BROADCAST_BINARY(&params->shape, input, input2, output, tk_or_row, 0);
    return TK_OK;
}

tk_status tk_logical_not_b8(const tk_logical_not_params *params, const uint8_t *input, uint8_t *output)
{
    for (int32_t i = 0; i < params->size; ++i) {
        output[i] = (uint8_t)!input[i];
    }
    return TK_OK;
}
