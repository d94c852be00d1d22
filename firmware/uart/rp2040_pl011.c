/* Arm PL011 UART (RP2040 UART0/1), polled with its FIFOs enabled. */
#include "tk_fw.h"

#define UART_DR (TK_UART_BASE + 0x000u)
#define UART_RSR (TK_UART_BASE + 0x004u)
#define UART_FR (TK_UART_BASE + 0x018u)
#define UART_IBRD (TK_UART_BASE + 0x024u)
#define UART_FBRD (TK_UART_BASE + 0x028u)
#define UART_LCR_H (TK_UART_BASE + 0x02Cu)
#define UART_CR (TK_UART_BASE + 0x030u)
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)
#define LCR_H_8N1_FIFO ((3u << 5) | (1u << 4))
#define CR_ENABLE_TX_RX ((1u << 0) | (1u << 8) | (1u << 9))

void tk_uart_init(void)
{
    /* IBRD + FBRD/64 = clk_peri / (16 * baud), computed for clk_peri (tk_board.h) */
    TK_REG(UART_CR) = 0;
    TK_REG(UART_IBRD) = TK_UART_IBRD;
    TK_REG(UART_FBRD) = TK_UART_FBRD;
    TK_REG(UART_LCR_H) = LCR_H_8N1_FIFO; /* also latches IBRD/FBRD */
    TK_REG(UART_CR) = CR_ENABLE_TX_RX;
}

void tk_uart_putc(char c)
{
    while (TK_REG(UART_FR) & FR_TXFF) {
    }
    TK_REG(UART_DR) = (uint8_t)c;
}

int tk_uart_getc(void)
{
    if (TK_REG(UART_FR) & FR_RXFE) {
        return -1;
    }
    uint32_t v = TK_REG(UART_DR);
    if (v & 0xF00u) {
        TK_REG(UART_RSR) = 0; /* clear framing/parity/break/overrun */
    }
    return (int)(v & 0xFFu);
}
