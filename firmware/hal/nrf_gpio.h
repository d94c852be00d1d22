/* Nordic GPIO (nRF51 P0 at 0x50000000; nRF52840 P0 at 0x50000000, P1 at 0x50000300). */
#ifndef TK_NRF_GPIO_H
#define TK_NRF_GPIO_H
#include "tk_fw.h"

#define NRF_GPIO_BASE(port) (0x50000000u + 0x300u * (port))
#define NRF_GPIO_OUTSET 0x508u
#define NRF_GPIO_OUTCLR 0x50Cu
#define NRF_GPIO_DIRSET 0x518u

static inline void tk_nrf_energy_init(void)
{
#ifdef TK_ENERGY_PORT
    TK_REG(NRF_GPIO_BASE(TK_ENERGY_PORT) + NRF_GPIO_OUTSET) = 1u << TK_ENERGY_PIN;
    TK_REG(NRF_GPIO_BASE(TK_ENERGY_PORT) + NRF_GPIO_DIRSET) = 1u << TK_ENERGY_PIN;
#endif
}

static inline void tk_nrf_energy_write(int level)
{
#ifdef TK_ENERGY_PORT
    TK_REG(NRF_GPIO_BASE(TK_ENERGY_PORT) + (level ? NRF_GPIO_OUTSET : NRF_GPIO_OUTCLR)) = 1u << TK_ENERGY_PIN;
#else
    (void)level;
#endif
}
#endif
