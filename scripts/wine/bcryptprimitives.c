/*
 * bcryptprimitives.dll shim for Wine 8.0, which does not ship this DLL.
 *
 * bun.exe and every binary built by Rust >= 1.78 (std's random source on Windows) import
 * ProcessPrng from bcryptprimitives.dll, so under Wine 8 they fail to load. This DLL
 * exports ProcessPrng implemented over RtlGenRandom (advapi32!SystemFunction036), which
 * Wine has. Newer Wine versions ship their own bcryptprimitives.dll; this is only copied
 * into a prefix's system32 by scripts/wine/setup.sh.
 *
 * Build: x86_64-w64-mingw32-gcc -shared -O2 -s -o bcryptprimitives.dll \
 *          bcryptprimitives.c bcryptprimitives.def -ladvapi32
 */
#include <windows.h>

/* advapi32!SystemFunction036, a.k.a. RtlGenRandom; declared here to avoid ntsecapi.h. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    /* RtlGenRandom takes a ULONG length: feed it in chunks. */
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    /* Like the real one, documented as always returning TRUE. */
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH)
        DisableThreadLibraryCalls(instance);
    return TRUE;
}
