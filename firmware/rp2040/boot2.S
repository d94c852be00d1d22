/* RP2040 second-stage boot loader (boot2), written for tinykit from the RP2040 datasheet's
 * description of the XIP SSI. The boot ROM copies these 252 bytes (+ CRC32) to SRAM and calls
 * them; we put the SSI in plain serial 03h read mode (works with any SPI NOR flash, slowly), then
 * vector into the firmware's table at 0x10000100. */
    .syntax unified
    .cpu cortex-m0plus
    .thumb
    .section .text
    .global tk_boot2
    .type tk_boot2, %function
    .thumb_func
tk_boot2:
    push {lr}
    ldr r3, =0x18000000        /* XIP_SSI base */
    movs r1, #0
    str r1, [r3, #0x08]        /* SSIENR = 0: disable to reconfigure */
    movs r1, #4
    str r1, [r3, #0x14]        /* BAUDR: SCK = clk_sys / 4 */
    ldr r1, =((31 << 16) | (3 << 8))
    str r1, [r3, #0x00]        /* CTRLR0: 32-bit frames, EEPROM-read transfer mode */
    ldr r1, =((0x03 << 24) | (2 << 8) | (6 << 2))
    ldr r0, =0x180000f4
    str r1, [r0]               /* SPI_CTRLR0: XIP command 03h, 8-bit instruction, 24-bit address */
    movs r1, #0
    str r1, [r3, #0x04]        /* CTRLR1: one data frame per transfer */
    movs r1, #1
    str r1, [r3, #0x08]        /* SSIENR = 1 */
    pop {r0}
    cmp r0, #0
    beq 1f
    bx r0                      /* called by someone else: return */
1:
    ldr r0, =0x10000100        /* firmware vector table, right after boot2 */
    ldr r1, =0xe000ed08        /* VTOR */
    str r0, [r1]
    ldmia r0, {r0, r1}
    msr msp, r0
    bx r1
    .ltorg
