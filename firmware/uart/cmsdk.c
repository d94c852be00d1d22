/* Arm CMSDK APB UART (MPS2/MPS3 FPGA images): DATA, STATE (bit0 TX full, bit1 RX full),
 * CTRL (bit0 TX enable, bit1 RX enable), BAUDDIV = clock / baud (minimum 16, from tk_board.h). */
#include "tk_fw.h"

#define UART_DATA (TK_UART_BASE + 0x00u)
#define UART_STATE (TK_UART_BASE + 0x04u)
#define UART_CTRL (TK_UART_BASE + 0x08u)
#define UART_BAUDDIV (TK_UART_BASE + 0x10u)

void tk_uart_init(void)
{
    TK_REG(UART_BAUDDIV) = TK_UART_BAUDDIV;
    TK_REG(UART_CTRL) = 0x3u;
}

void tk_uart_putc(char c)
{
    while (TK_REG(UART_STATE) & 0x1u) {
    }
    TK_REG(UART_DATA) = (uint8_t)c;
}

int tk_uart_getc(void)
{
    if (TK_REG(UART_STATE) & 0x2u) {
        return (int)(TK_REG(UART_DATA) & 0xFFu);
    }
    return -1;
}
