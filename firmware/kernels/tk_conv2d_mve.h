/* CONV_2D int8 on Helium (MVE) cores: the body tk_conv2d_s8 runs when TK_USE_MVE (tk_mve.h). */
#ifndef TK_CONV2D_MVE_H
#define TK_CONV2D_MVE_H

#include "tk_conv2d.h"
#include "tk_mve.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef TK_USE_MVE
tk_status tk_conv2d_s8_mve(const tk_conv2d_params *params, const int8_t *input, int8_t *output, void *scratch);
#endif

#ifdef __cplusplus
}
#endif

#endif /* TK_CONV2D_MVE_H */
