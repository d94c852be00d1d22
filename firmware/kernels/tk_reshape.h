/* RESHAPE / SQUEEZE / EXPAND_DIMS: a byte copy of any element type, used only when the planner
 * could not alias output onto input (a constant input). */
#ifndef TK_RESHAPE_H
#define TK_RESHAPE_H

#include "tk_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    size_t bytes;
} tk_reshape_params;

tk_status tk_reshape_s8(const tk_reshape_params *params, const void *input, void *output);

#ifdef __cplusplus
}
#endif

#endif /* TK_RESHAPE_H */
