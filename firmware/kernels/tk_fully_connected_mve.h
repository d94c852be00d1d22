/* FULLY_CONNECTED int8 on Helium (MVE) cores: the body tk_fully_connected_s8 runs when TK_USE_MVE. */
#ifndef TK_FULLY_CONNECTED_MVE_H
#define TK_FULLY_CONNECTED_MVE_H

#include "tk_fully_connected.h"
#include "tk_mve.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef TK_USE_MVE
tk_status tk_fully_connected_s8_mve(const tk_fully_connected_params *params, const int8_t *input, int8_t *output);
#endif

#ifdef __cplusplus
}
#endif

#endif /* TK_FULLY_CONNECTED_MVE_H */
