// SPDX-License-Identifier: Apache-2.0
#pragma once
// Whether this build runs under AddressSanitizer: the few tests whose cost is thousands of child
// processes or a gigabyte of data do a sample of that work there. The Release pass does all of it;
// the sanitizer pass is there to check ckpt's own code for memory errors on the same paths.

namespace ckpt_test {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool address_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool address_sanitizer = true;
#else
inline constexpr bool address_sanitizer = false;
#endif
#else
inline constexpr bool address_sanitizer = false;
#endif

}  // namespace ckpt_test
