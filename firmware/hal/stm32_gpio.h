/* GPIO helpers shared by the STM32 HALs (same register layout on L4/L4+ and F7). */
#ifndef TK_STM32_GPIO_H
#define TK_STM32_GPIO_H
#include "tk_fw.h"

#define GPIO_MODER 0x00u
#define GPIO_OSPEEDR 0x08u
#define GPIO_BSRR 0x18u
#define GPIO_AFRL 0x20u

static inline uint32_t tk_gpio_base(uint32_t port)
{
    return TK_GPIO_PORT0_BASE + 0x400u * port;
}

static inline void tk_gpio_mode(uint32_t port, uint32_t pin, uint32_t mode)
{
    uint32_t base = tk_gpio_base(port);
    TK_REG(base + GPIO_MODER) = (TK_REG(base + GPIO_MODER) & ~(3u << (2u * pin))) | (mode << (2u * pin));
    TK_REG(base + GPIO_OSPEEDR) |= 2u << (2u * pin);
}

static inline void tk_gpio_af(uint32_t port, uint32_t pin, uint32_t af)
{
    uint32_t reg = tk_gpio_base(port) + GPIO_AFRL + 4u * (pin / 8u);
    uint32_t shift = 4u * (pin % 8u);
    TK_REG(reg) = (TK_REG(reg) & ~(0xFu << shift)) | (af << shift);
    tk_gpio_mode(port, pin, 2u);
}

static inline void tk_gpio_write(uint32_t port, uint32_t pin, int level)
{
    TK_REG(tk_gpio_base(port) + GPIO_BSRR) = level ? (1u << pin) : (1u << (pin + 16u));
}
#endif
