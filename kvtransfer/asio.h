// Boost.Asio for the tcp backend files only. Boost 1.74's awaitable.hpp uses
// std::exchange without including <utility>, which C++20 libstdc++ needs.
#pragma once

// clang-format off
#include <utility>
#include <boost/asio.hpp>
// clang-format on
