/* STM32 USART / LPUART with the "v2" register layout (STM32L4/L4+, F7): ISR/ICR/RDR/TDR.
 * LPUART's divider is 256 * fck / baud, USART's (oversampling by 16) fck / baud: TK_UART_BRR, computed
 * for the kernel clock the start-up ends on (tinykit/targets/clocks.py). BRR is written while UE = 0. */
#include "tk_fw.h"

#define USART_CR1 (TK_UART_BASE + 0x00u)
#define USART_BRR (TK_UART_BASE + 0x0Cu)
#define USART_ISR (TK_UART_BASE + 0x1Cu)
#define USART_ICR (TK_UART_BASE + 0x20u)
#define USART_RDR (TK_UART_BASE + 0x24u)
#define USART_TDR (TK_UART_BASE + 0x28u)
#define LPUART_PRESC (TK_UART_BASE + 0x2Cu) /* STM32L4+ LPUART: kernel clock prescaler */
#define CR1_UE (1u << 0)
#define CR1_RE (1u << 2)
#define CR1_TE (1u << 3)
#define ISR_ERRORS 0xFu /* PE, FE, NE, ORE */
#define ISR_RXNE (1u << 5)
#define ISR_TXE (1u << 7)

void tk_uart_init(void)
{
    TK_REG(USART_CR1) = 0;
#ifdef TK_UART_PRESC
    TK_REG(LPUART_PRESC) = TK_UART_PRESC;
#endif
    TK_REG(USART_BRR) = TK_UART_BRR;
    TK_REG(USART_CR1) = CR1_TE | CR1_RE;
    TK_REG(USART_CR1) = CR1_TE | CR1_RE | CR1_UE;
}

void tk_uart_putc(char c)
{
    while ((TK_REG(USART_ISR) & ISR_TXE) == 0u) {
    }
    TK_REG(USART_TDR) = (uint8_t)c;
}

int tk_uart_getc(void)
{
    uint32_t isr = TK_REG(USART_ISR);
    if (isr & ISR_ERRORS) {
        TK_REG(USART_ICR) = ISR_ERRORS; /* an overrun would otherwise stop reception */
    }
    if (isr & ISR_RXNE) {
        return (int)(TK_REG(USART_RDR) & 0xFFu);
    }
    return -1;
}
