# Warnings are errors in every target of the project. Third-party headers are
# system headers (found under /usr/include) and stay quiet.
function(pdserve_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Werror -Wnon-virtual-dtor
                              -Wimplicit-fallthrough -Wno-missing-field-initializers>
    $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings -Xcompiler=-Wall,-Wextra>)
  # GCC 13's flow warnings misfire inside libstdc++ on nlohmann::json
  # (false -Warray-bounds / -Wstringop-* errors); GCC 12 is quiet.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 13)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CXX>:-Wno-array-bounds -Wno-stringop-overflow -Wno-stringop-overread -Wno-dangling-reference>)
  endif()
endfunction()
