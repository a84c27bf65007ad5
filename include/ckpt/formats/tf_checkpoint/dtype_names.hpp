// SPDX-License-Identifier: Apache-2.0
#pragma once
// TensorFlow's names for its DataType numbers ("DT_FLOAT"), which ckpt's dtype values equal; the
// names TensorFlow's own tools print.

#include <string>
#include <string_view>

#include "ckpt/core/dtype.hpp"

namespace ckpt::tf_checkpoint {

inline std::string dtype_name(ckpt::dtype t) {
  static constexpr std::string_view names[] = {"DT_INVALID",
                                               "DT_FLOAT",
                                               "DT_DOUBLE",
                                               "DT_INT32",
                                               "DT_UINT8",
                                               "DT_INT16",
                                               "DT_INT8",
                                               "DT_STRING",
                                               "DT_COMPLEX64",
                                               "DT_INT64",
                                               "DT_BOOL",
                                               "DT_QINT8",
                                               "DT_QUINT8",
                                               "DT_QINT32",
                                               "DT_BFLOAT16",
                                               "DT_QINT16",
                                               "DT_QUINT16",
                                               "DT_UINT16",
                                               "DT_COMPLEX128",
                                               "DT_HALF",
                                               "DT_RESOURCE",
                                               "DT_VARIANT",
                                               "DT_UINT32",
                                               "DT_UINT64",
                                               "DT_FLOAT8_E5M2",
                                               "DT_FLOAT8_E4M3FN",
                                               "DT_FLOAT8_E4M3FNUZ",
                                               "DT_FLOAT8_E4M3B11FNUZ",
                                               "DT_FLOAT8_E5M2FNUZ",
                                               "DT_INT4",
                                               "DT_UINT4",
                                               "DT_INT2",
                                               "DT_UINT2"};
  const auto i = static_cast<std::size_t>(t);
  if (i < std::size(names)) return std::string(names[i]);
  return "DT_<" + std::to_string(i) + ">";
}

}  // namespace ckpt::tf_checkpoint
