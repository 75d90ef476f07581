"""`python -m app.core.attribution`: compile the numba kernels (or load them from numba's cache) so that
no live request waits for the compiler; `make install` runs it."""

from app.core.attribution import agreement_kernel, flow_network, flow_solver

if __name__ == "__main__":
    flow_network.compile_kernels()
    flow_solver.compile_kernels()
    agreement_kernel.compile_kernels()
