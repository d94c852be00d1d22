/* STM32F746NG (32F746GDISCOVERY): runs on the reset clock (HSI 16 MHz, the board file says so).
 * USART1 on PA9 (TX) / PB7 (RX), AF7, is the ST-LINK virtual COM port. */
#define TK_GPIO_PORT0_BASE 0x40020000u
#include "stm32_gpio.h"

#define RCC_AHB1ENR 0x40023830u
#define RCC_APB2ENR 0x40023844u
#define RCC_APB2ENR_USART1EN (1u << 4)

void tk_hal_init(void)
{
    TK_REG(RCC_AHB1ENR) |= (1u << TK_UART_TX_PORT) | (1u << TK_UART_RX_PORT);
    TK_REG(RCC_APB2ENR) |= RCC_APB2ENR_USART1EN;
    (void)TK_REG(RCC_APB2ENR);
    tk_gpio_af(TK_UART_TX_PORT, TK_UART_TX_PIN, TK_UART_AF);
    tk_gpio_af(TK_UART_RX_PORT, TK_UART_RX_PIN, TK_UART_AF);
    tk_uart_init();
}

void tk_energy_pin_init(void)
{
#ifdef TK_ENERGY_PORT
    TK_REG(RCC_AHB1ENR) |= 1u << TK_ENERGY_PORT;
    (void)TK_REG(RCC_AHB1ENR);
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
