/*
 * An empty DLL named libnode.dll. napi-build panics when building for a *-windows-gnu target
 * unless LIBNODE_PATH holds a libnode.dll; the addon links nothing from it (napi's
 * dyn-symbols resolve N-API at run time). scripts/wine/setup.sh builds it into
 * .ci-wine/libnode/, scripts/package.mjs into target/libnode-shim/.
 */
int libnode_placeholder;
