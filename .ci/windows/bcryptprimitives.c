/* The entry point of the forwarding DLL described in bcryptprimitives.def:
 * it has nothing to set up. */
#include <windows.h>

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
	(void)instance;
	(void)reason;
	(void)reserved;
	return TRUE;
}
