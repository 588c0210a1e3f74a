# Every dependency comes from Debian's packages or the CUDA toolkit.
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 IMPORTED_TARGET libpcre2-8)
if(NOT PCRE2_FOUND)
  # The GPU machine has no pcre2 pkg-config file: headers and library carried in .deps.
  find_path(PDSERVE_PCRE2_INCLUDE pcre2.h REQUIRED)
  find_library(PDSERVE_PCRE2_LIBRARY pcre2-8 REQUIRED)
  add_library(PkgConfig::PCRE2 UNKNOWN IMPORTED)
  set_target_properties(PkgConfig::PCRE2 PROPERTIES IMPORTED_LOCATION ${PDSERVE_PCRE2_LIBRARY}
                                                   INTERFACE_INCLUDE_DIRECTORIES ${PDSERVE_PCRE2_INCLUDE})
endif()
if(PDSERVE_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
# kvtransfer: UCX (libucx-dev, UCP API) and Boost.Asio (libboost-dev, header-only).
find_package(ucx REQUIRED)
find_package(Boost 1.74 REQUIRED)
# kvtransfer handshake: HMAC-SHA256 and random nonces from OpenSSL's libcrypto (libssl-dev).
find_package(OpenSSL 3 REQUIRED COMPONENTS Crypto)
