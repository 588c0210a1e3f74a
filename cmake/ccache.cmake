# Use ccache when it is installed: CI builds twice (CPU-only and CUDA) and
# most translation units are shared between the two configurations.
find_program(PDSERVE_CCACHE ccache)
if(PDSERVE_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${PDSERVE_CCACHE})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${PDSERVE_CCACHE})
endif()
