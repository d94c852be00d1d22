/* tinykit streaming keyword detection: the serial framing shared with tinykit/stream.py.
 *
 * Host -> device, little-endian binary frames (hex text is too slow for audio on a UART):
 *   0xA5 0x5A | type u8 | flags u8 | sample_index u32 | length u16 | payload[length] | crc32 u32
 * The CRC-32 (zlib/IEEE) covers type..payload. sample_index is the stream position of the first
 * sample of an audio payload, so a lost chunk shows as a gap and is never silently skipped.
 * Device -> host: text lines ending "\r\n" (s-... replies, see tk_stream.c). Stop-and-wait: every
 * frame gets exactly one final reply line (s-ack-[N] or s-nak-[reason]) after any detections;
 * on real UARTs a frame cut short on the wire is dropped after 50 ms without bytes (s-nak-[timeout]).
 */
#ifndef TK_STREAM_H
#define TK_STREAM_H

#include <stdint.h>

#define TK_ST_MAGIC0 0xA5u
#define TK_ST_MAGIC1 0x5Au
#define TK_ST_HEADER_BYTES 8u /* type, flags, sample_index, length */

#define TK_ST_TYPE_RESET 'R'   /* flags bit 0: print posteriors (s-post) after every inference */
#define TK_ST_TYPE_AUDIO 'A'   /* payload: int16 PCM */
#define TK_ST_TYPE_FEATURES 'F' /* reply s-feat-[hex] with the current feature window */
#define TK_ST_TYPE_STATS 'S'   /* reply s-stats-[...] */

#define TK_ST_FLAG_POSTERIORS 0x01u

void tk_stream_boot(void);  /* reset state, init the model, print s-boot and s-ready */
void tk_stream_poll(int c); /* feed one received byte (or -1: nothing waiting) */

#endif /* TK_STREAM_H */
