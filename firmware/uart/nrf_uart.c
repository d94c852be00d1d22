/* Nordic UART (nRF51 UART0; the same legacy register set is still present on the nRF52840 at
 * UART0/UARTE0 0x40002000, selected by ENABLE = 4). Polled, using the TXDRDY/RXDRDY events. */
#include "tk_fw.h"

#define UART_STARTRX (TK_UART_BASE + 0x000u)
#define UART_STARTTX (TK_UART_BASE + 0x008u)
#define UART_EV_RXDRDY (TK_UART_BASE + 0x108u)
#define UART_EV_TXDRDY (TK_UART_BASE + 0x11Cu)
#define UART_EV_ERROR (TK_UART_BASE + 0x124u)
#define UART_ERRORSRC (TK_UART_BASE + 0x480u)
#define UART_ENABLE (TK_UART_BASE + 0x500u)
#define UART_PSELTXD (TK_UART_BASE + 0x50Cu)
#define UART_PSELRXD (TK_UART_BASE + 0x514u)
#define UART_RXD (TK_UART_BASE + 0x518u)
#define UART_TXD (TK_UART_BASE + 0x51Cu)
#define UART_BAUDRATE (TK_UART_BASE + 0x524u)
#define UART_CONFIG (TK_UART_BASE + 0x56Cu)

void tk_uart_init(void)
{
    TK_REG(UART_PSELTXD) = TK_UART_TX_PSEL;
    TK_REG(UART_PSELRXD) = TK_UART_RX_PSEL;
    TK_REG(UART_BAUDRATE) = TK_UART_BAUDRATE; /* baud * 2^32 / 16 MHz, rounded as the PS tabulates */
    TK_REG(UART_CONFIG) = 0;
    TK_REG(UART_ENABLE) = 4u;
    TK_REG(UART_EV_TXDRDY) = 0;
    TK_REG(UART_EV_RXDRDY) = 0;
    TK_REG(UART_STARTTX) = 1u;
    TK_REG(UART_STARTRX) = 1u;
}

void tk_uart_putc(char c)
{
    TK_REG(UART_EV_TXDRDY) = 0;
    TK_REG(UART_TXD) = (uint8_t)c;
    while (TK_REG(UART_EV_TXDRDY) == 0u) {
    }
}

int tk_uart_getc(void)
{
    if (TK_REG(UART_EV_ERROR) != 0u) {
        TK_REG(UART_ERRORSRC) = TK_REG(UART_ERRORSRC); /* write-1-to-clear */
        TK_REG(UART_EV_ERROR) = 0;
    }
    if (TK_REG(UART_EV_RXDRDY) == 0u) {
        return -1;
    }
    TK_REG(UART_EV_RXDRDY) = 0;
    return (int)(TK_REG(UART_RXD) & 0xFFu);
}
