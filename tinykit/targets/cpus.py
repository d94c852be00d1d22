"""The one CPU capability table: what each Cortex-M core can do and how to compile for it.

A board names its CPU and inherits the rest from here (DESIGN.md): the compiler flags, whether
there is an FPU (hard-float ABI, the float audio front end), the DSP extension (SMLAD kernels),
MVE/Helium, and a vector table offset register (VTOR). The firmware build, the audio front end,
exports and kernel selection all read this table, so a capability is stated once.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinykit.errors import BoardError


@dataclass(frozen=True)
class Cpu:
    """Capabilities of one core as gcc's ``-mcpu`` sees it."""

    id: str  # as board files spell it
    arch: str  # Arm architecture profile, for documentation and export manifests
    cflags: tuple[str, ...]  # code generation flags (the ABI follows the FPU)
    fpu: bool
    dsp: bool  # __ARM_FEATURE_DSP: SMLAD/SXTB16 kernel paths
    mve: bool  # Helium (M-profile vector extension)
    vtor: bool  # the vector table can be relocated (SCB->VTOR)
    dwt: bool = True  # a DWT cycle counter (CYCCNT); ARMv6-M cores have none

    def kernel_defines(self, host: bool = False) -> tuple[str, ...]:
        """Preprocessor defines that select the kernels' code path for this core.

        On the core itself the compiler announces the DSP extension (``__ARM_FEATURE_DSP``);
        compiled for the host, ``TK_DSP_EMULATE`` builds the same DSP path with portable C, so a
        host build of an export for a DSP board runs exactly the code the board runs.
        On a Helium core ``TK_MVE`` selects the MVE bodies of the kernels (tk_mve.h); the host
        has no MVE, so its build of the same export runs the DSP path (bit-exact all the same).
        """
        if host:
            return ("TK_DSP_EMULATE",) if self.dsp else ()
        return ("TK_MVE",) if self.mve else ()


_THUMB = "-mthumb"
CPUS: dict[str, Cpu] = {c.id: c for c in (
    Cpu("cortex-m0", "armv6-m", ("-mcpu=cortex-m0", _THUMB, "-mfloat-abi=soft"),
        fpu=False, dsp=False, mve=False, vtor=False, dwt=False),
    Cpu("cortex-m0plus", "armv6-m", ("-mcpu=cortex-m0plus", _THUMB, "-mfloat-abi=soft"),
        fpu=False, dsp=False, mve=False, vtor=True, dwt=False),
    Cpu("cortex-m3", "armv7-m", ("-mcpu=cortex-m3", _THUMB, "-mfloat-abi=soft"),
        fpu=False, dsp=False, mve=False, vtor=True),
    Cpu("cortex-m4", "armv7e-m", ("-mcpu=cortex-m4", _THUMB, "-mfloat-abi=soft"),
        fpu=False, dsp=True, mve=False, vtor=True),
    Cpu("cortex-m4f", "armv7e-m", ("-mcpu=cortex-m4", _THUMB, "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"),
        fpu=True, dsp=True, mve=False, vtor=True),
    Cpu("cortex-m7", "armv7e-m", ("-mcpu=cortex-m7", _THUMB, "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"),
        fpu=True, dsp=True, mve=False, vtor=True),
    Cpu("cortex-m33", "armv8-m.main", ("-mcpu=cortex-m33", _THUMB, "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"),
        fpu=True, dsp=True, mve=False, vtor=True),
    Cpu("cortex-m55", "armv8.1-m.main", ("-mcpu=cortex-m55", _THUMB, "-mfloat-abi=hard"),
        fpu=True, dsp=True, mve=True, vtor=True),
)}


def get_cpu(cpu_id: str) -> Cpu:
    """The table entry of ``cpu_id``; BoardError lists the known cores."""
    try:
        return CPUS[cpu_id]
    except KeyError:
        raise BoardError(f"unknown cpu {cpu_id!r}", hint=f"known cpus: {', '.join(CPUS)}") from None
