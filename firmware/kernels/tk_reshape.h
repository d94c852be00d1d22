/* RESHAPE / SQUEEZE: a byte copy, used only when the planner could not alias output onto input. */
#ifndef TK_RESHAPE_H
#define TK_RESHAPE_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    size_t bytes;
} tk_reshape_params;

tk_status tk_reshape_s8(const tk_reshape_params *params, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_RESHAPE_H */
