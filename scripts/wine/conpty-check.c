/*
 * conpty-check.exe: runs its arguments as a command line in a fresh pseudo console (ConPTY),
 * copies what comes out of the pseudo console to its stdout and exits with the child's exit
 * code (124 if the child has not exited after 30 s, 125 on a setup failure).
 *
 * setup.sh uses it to check conpty-launcher.exe under Wine 8: a child started directly gets
 * NULL std handles (its output does not come through the pseudo console), one started
 * through the launcher writes to the pseudo console. This program's own std handles are
 * switched to NUL before the child starts, so a child that falls back to them (as Wine 8
 * does) prints nothing here: only pseudo console output reaches stdout.
 *
 * mingw-w64 10's headers lack the ConPTY declarations (its kernel32 import library has them),
 * hence the declarations below.
 * Build: x86_64-w64-mingw32-gcc -municode -O2 -s -o conpty-check.exe conpty-check.c
 */
#include <windows.h>

typedef VOID *HPCON;
HRESULT WINAPI CreatePseudoConsole(COORD size, HANDLE input, HANDLE output, DWORD flags, HPCON *pc);
void WINAPI ClosePseudoConsole(HPCON pc);
#ifndef PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE
#define PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE 0x00020016
#endif

static HANDLE pty_out_read, real_stdout;

/* Copies the pseudo console's output to stdout until the pipe breaks. */
static DWORD WINAPI pump(LPVOID unused)
{
    char buf[4096];
    DWORD got, put;
    (void)unused;
    while (ReadFile(pty_out_read, buf, sizeof buf, &got, NULL) && got)
        WriteFile(real_stdout, buf, got, &put, NULL);
    return 0;
}

static LPWSTR rest_of_command_line(LPWSTR cmd)
{
    if (*cmd == L'"') {
        cmd++;
        while (*cmd && *cmd != L'"')
            cmd++;
        if (*cmd == L'"')
            cmd++;
    } else {
        while (*cmd && *cmd != L' ' && *cmd != L'\t')
            cmd++;
    }
    while (*cmd == L' ' || *cmd == L'\t')
        cmd++;
    return cmd;
}

int wmain(void)
{
    LPWSTR cmd = rest_of_command_line(GetCommandLineW());
    HANDLE in_read, in_write, out_write, thread;
    HPCON pc;
    COORD size = { 80, 25 };
    SIZE_T n = 0;
    LPPROC_THREAD_ATTRIBUTE_LIST attrs;
    STARTUPINFOEXW si;
    PROCESS_INFORMATION pi;
    DWORD code = 125;

    if (!*cmd)
        return 125;
    real_stdout = GetStdHandle(STD_OUTPUT_HANDLE);
    {
        HANDLE nul = CreateFileW(L"NUL", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                 NULL, OPEN_EXISTING, 0, NULL);
        if (nul == INVALID_HANDLE_VALUE)
            return 125;
        SetStdHandle(STD_INPUT_HANDLE, nul);
        SetStdHandle(STD_OUTPUT_HANDLE, nul);
        SetStdHandle(STD_ERROR_HANDLE, nul);
    }
    if (!CreatePipe(&in_read, &in_write, NULL, 0) || !CreatePipe(&pty_out_read, &out_write, NULL, 0))
        return 125;
    if (FAILED(CreatePseudoConsole(size, in_read, out_write, 0, &pc)))
        return 125;
    InitializeProcThreadAttributeList(NULL, 1, 0, &n);
    attrs = HeapAlloc(GetProcessHeap(), 0, n);
    if (!attrs || !InitializeProcThreadAttributeList(attrs, 1, 0, &n)
        || !UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, pc, sizeof pc, NULL, NULL))
        return 125;
    ZeroMemory(&si, sizeof si);
    si.StartupInfo.cb = sizeof si;
    si.lpAttributeList = attrs;
    if (!CreateProcessW(NULL, cmd, NULL, NULL, FALSE, EXTENDED_STARTUPINFO_PRESENT, NULL, NULL,
                        &si.StartupInfo, &pi))
        return 125;
    thread = CreateThread(NULL, 0, pump, NULL, 0, NULL);
    if (WaitForSingleObject(pi.hProcess, 30000) != WAIT_OBJECT_0) {
        TerminateProcess(pi.hProcess, 124);
        WaitForSingleObject(pi.hProcess, INFINITE);
        code = 124;
    } else if (!GetExitCodeProcess(pi.hProcess, &code)) {
        code = 125;
    }
    /* Closing the pseudo console flushes it and ends the output pipe (pump returns). */
    ClosePseudoConsole(pc);
    CloseHandle(out_write);
    CloseHandle(in_write);
    if (thread)
        WaitForSingleObject(thread, 5000);
    return (int)code;
}
