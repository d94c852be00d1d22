/* Host test driver for the audio front end (not firmware): reads int16 little-endian clips of
 * CLIP_LEN samples from IN, writes the int8 features of each clip to OUT.
 * usage: tk_frontend_host IN OUT CLIP_LEN */
#include <stdio.h>
#include <stdlib.h>

#include "tk_frontend.h"

static tk_frontend_work work;

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s IN OUT CLIP_LEN\n", argv[0]);
        return 2;
    }
    long clip = strtol(argv[3], NULL, 10);
    if (clip <= 0 || clip > 10 * 16000 * 60) {
        fprintf(stderr, "bad CLIP_LEN\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "rb");
    FILE *out = fopen(argv[2], "wb");
    int16_t *pcm = malloc((size_t)clip * sizeof(int16_t));
    if (in == NULL || out == NULL || pcm == NULL) {
        fprintf(stderr, "cannot open files\n");
        return 2;
    }
    int8_t features[TK_FE_FEATURE_BYTES];
    while (fread(pcm, sizeof(int16_t), (size_t)clip, in) == (size_t)clip) {
        if (tk_frontend_clip(pcm, (size_t)clip, features, &work) != TK_OK) {
            return 1;
        }
        fwrite(features, 1, sizeof(features), out);
    }
    fclose(in);
    fclose(out);
    free(pcm);
    return 0;
}
