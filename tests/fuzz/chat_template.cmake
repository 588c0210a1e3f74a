# The chat-template fuzzer. tests/fuzz/CMakeLists.txt (PDSERVE_FUZZ=ON, clang) does
# include(chat_template.cmake). Run: chat_template_fuzz -max_total_time=60
#   ${CMAKE_CURRENT_LIST_DIR}/corpus/chat_template
add_executable(chat_template_fuzz ${CMAKE_CURRENT_LIST_DIR}/chat_template_fuzz.cpp)
target_compile_options(chat_template_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_options(chat_template_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
# The library under test gets coverage and sanitizers too.
target_compile_options(pdserve_chat_template PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
target_link_libraries(chat_template_fuzz PRIVATE pdserve_chat_template)
