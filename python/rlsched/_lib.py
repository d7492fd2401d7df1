"""Loads librlsched.so and declares the flat C API (env/env_flat.h).

The library is looked for at $RLSCHED_LIB, then in the build folders beside
this package's checkout (build/, build-*/ under the repository root)."""

import ctypes
import glob
import os

_P = ctypes.c_void_p
_F = ctypes.POINTER(ctypes.c_float)
_I = ctypes.POINTER(ctypes.c_int32)
_D = ctypes.POINTER(ctypes.c_double)
_U = ctypes.POINTER(ctypes.c_uint8)

_SIGNATURES = {
    "rls_flat_new": (_P, [ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32, ctypes.c_char_p,
                          ctypes.c_int32]),
    "rls_flat_destroy": (None, [ctypes.POINTER(_P)]),
    "rls_flat_errmsg": (ctypes.c_char_p, [_P]),
    "rls_flat_n_envs": (ctypes.c_int32, [_P]),
    "rls_flat_n_services": (ctypes.c_int32, [_P]),
    "rls_flat_n_features": (ctypes.c_int32, [_P]),
    "rls_flat_n_deltas": (ctypes.c_int32, [_P]),
    "rls_flat_mask_width": (ctypes.c_int32, [_P]),
    "rls_flat_action_dims": (ctypes.c_int32, [_P]),
    "rls_flat_horizon": (ctypes.c_int64, [_P]),
    "rls_flat_scenario_name": (ctypes.c_char_p, [_P]),
    "rls_flat_feature_names": (ctypes.c_char_p, [_P]),
    "rls_flat_deltas": (ctypes.c_int, [_P, _I]),
    "rls_flat_obs_bounds": (ctypes.c_int, [_P, _F, _F]),
    "rls_flat_bind": (ctypes.c_int, [_P, _F, _I, _D, _U, _U, _U]),
    "rls_flat_reset": (ctypes.c_int, [_P, ctypes.c_int32, ctypes.c_uint64]),
    "rls_flat_step": (ctypes.c_int, [_P]),
    "rls_flat_masks": (ctypes.c_int, [_P]),
    "rls_flat_final_obs": (ctypes.c_int, [_P, ctypes.c_int32, _F]),
    "rls_flat_run": (ctypes.c_int, [_P, ctypes.c_int64]),
}

_lib = None


def library_path():
    """The path of librlsched.so that load() uses, or None if none is found."""
    env = os.environ.get("RLSCHED_LIB")
    if env:
        return env
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for cand in [os.path.join(root, "build", "librlsched.so")] + sorted(
            glob.glob(os.path.join(root, "build*", "librlsched.so"))):
        if os.path.exists(cand):
            return cand
    return None


def load():
    """The loaded library with every function's signature declared (cached)."""
    global _lib
    if _lib is not None:
        return _lib
    path = library_path()
    if path is None:
        raise OSError("rlsched: librlsched.so not found: build it (cmake --build build) "
                      "or set RLSCHED_LIB to its path")
    lib = ctypes.CDLL(path)
    for name, (res, args) in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    _lib = lib
    return lib
