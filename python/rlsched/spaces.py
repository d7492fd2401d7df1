"""Box and MultiDiscrete spaces with Gymnasium's interface (shape, dtype,
sample(), contains(), seed(), `x in space`), for when gymnasium itself is not
installed. Sampling follows gymnasium.spaces: a bounded Box samples uniformly,
a half-bounded side exponentially, an unbounded one normally."""

import numpy as np


class Space:
    """Base: shape, dtype and a lazily seeded numpy Generator."""

    def __init__(self, shape, dtype, seed=None):
        self._shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self._np_random = None
        if seed is not None:
            self.seed(seed)

    @property
    def shape(self):
        return self._shape

    @property
    def np_random(self):
        if self._np_random is None:
            self.seed()
        return self._np_random

    def seed(self, seed=None):
        """Seeds the sampler; returns [seed] as gymnasium does."""
        self._np_random = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
        return [seed]

    def __contains__(self, x):
        return self.contains(x)


class Box(Space):
    """A float array of `shape` with per-element inclusive bounds."""

    def __init__(self, low, high, shape=None, dtype=np.float32, seed=None):
        dtype = np.dtype(dtype)
        if shape is None:
            shape = np.shape(low)
        low = np.broadcast_to(np.asarray(low, dtype=dtype), shape).copy()
        high = np.broadcast_to(np.asarray(high, dtype=dtype), shape).copy()
        if np.any(np.isnan(low)) or np.any(np.isnan(high)) or np.any(low > high):
            raise ValueError("Box: low must be <= high and neither NaN")
        super().__init__(shape, dtype, seed)
        self.low = low
        self.high = high
        self.bounded_below = np.isfinite(low)
        self.bounded_above = np.isfinite(high)

    def is_bounded(self, manner="both"):
        below = bool(np.all(self.bounded_below))
        above = bool(np.all(self.bounded_above))
        return {"both": below and above, "below": below, "above": above}[manner]

    def sample(self, mask=None):
        """A random element: uniform, exponential or normal per element's bounds."""
        if mask is not None:
            raise ValueError("Box.sample: masks are not supported")
        rng = self.np_random
        out = np.empty(self.shape, dtype=np.float64)
        lo, hi = self.low.astype(np.float64), self.high.astype(np.float64)
        both = self.bounded_below & self.bounded_above
        neither = ~self.bounded_below & ~self.bounded_above
        below = self.bounded_below & ~self.bounded_above
        above = ~self.bounded_below & self.bounded_above
        out[both] = rng.uniform(lo[both], hi[both])
        out[neither] = rng.normal(size=neither[neither].shape)
        out[below] = lo[below] + rng.exponential(size=below[below].shape)
        out[above] = hi[above] - rng.exponential(size=above[above].shape)
        return np.clip(out, lo, hi).astype(self.dtype)

    def contains(self, x):
        """True if x (array-like) has this shape, a castable dtype and lies in the bounds."""
        if not isinstance(x, np.ndarray):
            try:
                x = np.asarray(x, dtype=self.dtype)
            except (ValueError, TypeError):
                return False
        return bool(np.can_cast(x.dtype, self.dtype) and x.shape == self.shape
                    and np.all(x >= self.low) and np.all(x <= self.high))

    def __repr__(self):
        if np.all(self.low == self.low.flat[0]) and np.all(self.high == self.high.flat[0]):
            return f"Box({self.low.flat[0]}, {self.high.flat[0]}, {self.shape}, {self.dtype})"
        return f"Box({self.low.min()}, {self.high.max()}, {self.shape}, {self.dtype})"

    def __eq__(self, other):
        return (isinstance(other, Box) and self.shape == other.shape and self.dtype == other.dtype
                and np.array_equal(self.low, other.low) and np.array_equal(self.high, other.high))


class MultiDiscrete(Space):
    """An integer array, element j in [start[j], start[j] + nvec[j])."""

    def __init__(self, nvec, dtype=np.int64, seed=None, start=None):
        self.nvec = np.array(nvec, dtype=dtype, copy=True)
        self.start = (np.zeros_like(self.nvec) if start is None
                      else np.broadcast_to(np.asarray(start, dtype=dtype), self.nvec.shape).copy())
        if np.any(self.nvec < 1):
            raise ValueError("MultiDiscrete: every nvec entry must be >= 1")
        super().__init__(self.nvec.shape, dtype, seed)

    def sample(self, mask=None):
        """A uniform element; with mask (bool, shape + (max(nvec),), or the flat
        MaskablePPO layout of sum(nvec) entries) uniform over the allowed values."""
        rng = self.np_random
        if mask is None:
            return (rng.random(self.nvec.shape) * self.nvec).astype(self.dtype) + self.start
        mask = np.asarray(mask, dtype=bool).ravel()
        out = np.empty(self.nvec.size, dtype=self.dtype)
        off = 0
        for j, n in enumerate(self.nvec.ravel()):
            allowed = np.flatnonzero(mask[off:off + n])
            off += n
            if allowed.size == 0:
                raise ValueError(f"MultiDiscrete.sample: element {j} has no allowed value")
            out[j] = allowed[rng.integers(allowed.size)]
        return out.reshape(self.nvec.shape) + self.start

    def contains(self, x):
        """True if x (array-like of integers) has this shape and every element is in range."""
        if isinstance(x, (list, tuple)):
            x = np.array(x)
        if not isinstance(x, np.ndarray) or x.dtype == object or x.shape != self.shape:
            return False
        if not np.issubdtype(x.dtype, np.integer):
            return False
        return bool(np.all(x >= self.start) and np.all(x - self.start < self.nvec))

    def __repr__(self):
        return f"MultiDiscrete({np.array2string(self.nvec, separator=' ').replace(chr(10), '')})"

    def __eq__(self, other):
        return (isinstance(other, MultiDiscrete) and np.array_equal(self.nvec, other.nvec)
                and np.array_equal(self.start, other.start))
