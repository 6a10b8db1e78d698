/*
 * conpty-launcher.exe: works around a Wine 8 ConPTY bug for tests run under Wine.
 *
 * Under Wine 8 a process started with PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE gets NULL standard
 * handles, although it is attached to the pseudo console. Started as
 *
 *     conpty-launcher.exe <program> [args...]
 *
 * this program opens the console's CONIN$ and CONOUT$ (inheritable), starts the rest of its
 * own command line with them as stdin/stdout/stderr (STARTF_USESTDHANDLES), waits for it and
 * exits with its exit code. The rest of the command line is passed on verbatim (quoting
 * preserved), and the program is looked up the way CreateProcessW does for a NULL
 * application name.
 *
 * The child also goes into a kill-on-close job of its own when Wine allows it (nested jobs),
 * so it does not outlive the launcher if the launcher is terminated; if that is refused, the
 * child still belongs to whatever job the launcher is in.
 *
 * Exit codes: the child's, or 120 usage, 121 CONIN$/CONOUT$ cannot be opened, 122
 * CreateProcessW failed (diagnostics on stderr, i.e. the console).
 *
 * Build: x86_64-w64-mingw32-gcc -municode -O2 -s -o conpty-launcher.exe conpty-launcher.c
 */
#include <windows.h>
#include <stdio.h>

/* The command line after argv[0], by the rules the MSVC runtime uses for argv[0]. */
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

static void report(HANDLE out, const char *what)
{
    char msg[256];
    DWORD n;
    int len = snprintf(msg, sizeof msg, "conpty-launcher: %s failed, error %lu\r\n", what,
                       (unsigned long)GetLastError());
    if (out != INVALID_HANDLE_VALUE && len > 0)
        WriteFile(out, msg, (DWORD)len, &n, NULL);
}

int wmain(void)
{
    LPWSTR args = rest_of_command_line(GetCommandLineW());
    SECURITY_ATTRIBUTES inherit = { sizeof inherit, NULL, TRUE };
    HANDLE in, out, job;
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    DWORD code = 0;

    out = CreateFileW(L"CONOUT$", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                      &inherit, OPEN_EXISTING, 0, NULL);
    in = CreateFileW(L"CONIN$", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                     &inherit, OPEN_EXISTING, 0, NULL);
    if (!*args) {
        SetLastError(0);
        report(out, "usage: conpty-launcher.exe <program> [args...]:");
        return 120;
    }
    if (in == INVALID_HANDLE_VALUE || out == INVALID_HANDLE_VALUE) {
        report(out, "opening CONIN$/CONOUT$");
        return 121;
    }

    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = in;
    si.hStdOutput = out;
    si.hStdError = out;
    ZeroMemory(&pi, sizeof pi);
    if (!CreateProcessW(NULL, args, NULL, NULL, TRUE, CREATE_SUSPENDED, NULL, NULL, &si, &pi)) {
        report(out, "CreateProcessW");
        return 122;
    }

    job = CreateJobObjectW(NULL, NULL);
    if (job) {
        JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits;
        ZeroMemory(&limits, sizeof limits);
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof limits)
            || !AssignProcessToJobObject(job, pi.hProcess)) {
            CloseHandle(job); /* best effort: not fatal */
            job = NULL;
        }
    }

    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);
    WaitForSingleObject(pi.hProcess, INFINITE);
    if (!GetExitCodeProcess(pi.hProcess, &code))
        code = 1;
    CloseHandle(pi.hProcess);
    if (job)
        CloseHandle(job);
    return (int)code;
}
