/* Force-included into the generated model sources: per-layer timing hooks. */
#ifndef TK_LAYERS_H
#define TK_LAYERS_H
#ifndef __ASSEMBLER__
void tk_layer_begin(int i);
void tk_layer_end(int i);
#define TK_LAYER_BEGIN(i) tk_layer_begin((int)(i))
#define TK_LAYER_END(i) tk_layer_end((int)(i))
#endif
#endif
