/* STM32L4R5 (NUCLEO-L4R5ZI): runs on the reset clock (MSI 4 MHz, the board file says so).
 * LPUART1 on PG7/PG8 (AF8) is the ST-LINK virtual COM port; port G is powered from VDDIO2, which
 * must be declared valid (PWR_CR2.IOSV) before PG2..PG15 work. */
#define TK_GPIO_PORT0_BASE 0x48000000u
#include "stm32_gpio.h"

#define RCC_AHB2ENR 0x4002104Cu
#define RCC_APB1ENR1 0x40021058u
#define RCC_APB1ENR2 0x4002105Cu
#define RCC_APB1ENR1_PWREN (1u << 28)
#define RCC_APB1ENR2_LPUART1EN (1u << 0)
#define PWR_CR2 0x40007004u
#define PWR_CR2_IOSV (1u << 9)

void tk_hal_init(void)
{
    TK_REG(RCC_APB1ENR1) |= RCC_APB1ENR1_PWREN;
    (void)TK_REG(RCC_APB1ENR1);
    TK_REG(PWR_CR2) |= PWR_CR2_IOSV;
    TK_REG(RCC_AHB2ENR) |= (1u << TK_UART_TX_PORT) | (1u << TK_UART_RX_PORT);
    TK_REG(RCC_APB1ENR2) |= RCC_APB1ENR2_LPUART1EN;
    (void)TK_REG(RCC_APB1ENR2);
    tk_gpio_af(TK_UART_TX_PORT, TK_UART_TX_PIN, TK_UART_AF);
    tk_gpio_af(TK_UART_RX_PORT, TK_UART_RX_PIN, TK_UART_AF);
    tk_uart_init();
}

void tk_energy_pin_init(void)
{
#ifdef TK_ENERGY_PORT
    TK_REG(RCC_AHB2ENR) |= 1u << TK_ENERGY_PORT;
    (void)TK_REG(RCC_AHB2ENR);
    tk_gpio_write(TK_ENERGY_PORT, TK_ENERGY_PIN, 1);
    tk_gpio_mode(TK_ENERGY_PORT, TK_ENERGY_PIN, 1u);
#endif
}

void tk_energy_pin_write(int level)
{
#ifdef TK_ENERGY_PORT
    tk_gpio_write(TK_ENERGY_PORT, TK_ENERGY_PIN, level);
#else
    (void)level;
#endif
}
