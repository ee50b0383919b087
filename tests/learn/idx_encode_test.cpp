// encode_idx_images / encode_idx_labels round-trip through learn's IDX reader, and
// format_csv_rows through parse_csv_rows.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "learn/dataset.hpp"

namespace cairn::learn {
namespace {

Dataset tiny_images() {
  Dataset data;
  data.feature_shape = {1, 2, 3};
  data.num_classes = 10;
  // Two 2x3 images whose pixels are exact multiples of 1/255, so they survive the trip.
  for (int i = 0; i < 12; ++i)
    data.features.push_back(static_cast<float>(i * 21) / 255.0f);
  data.labels = {7, 0};
  return data;
}

TEST(IdxEncode, ImagesAndLabelsRoundTripThroughTheReader) {
  const auto data = tiny_images();
  const auto images = encode_idx_images(data);
  ASSERT_TRUE(images) << images.error().message;
  const auto labels = encode_idx_labels(data);
  ASSERT_TRUE(labels) << labels.error().message;
  EXPECT_EQ(images->size(), 16u + 12u);
  EXPECT_EQ(labels->size(), 8u + 2u);

  const auto image_array = parse_idx(*images);
  ASSERT_TRUE(image_array) << image_array.error().message;
  EXPECT_EQ(image_array->dims, (std::vector<std::uint32_t>{2, 2, 3}));
  const auto label_array = parse_idx(*labels);
  ASSERT_TRUE(label_array) << label_array.error().message;
  EXPECT_EQ(label_array->dims, (std::vector<std::uint32_t>{2}));

  const auto back = dataset_from_idx(*image_array, *label_array);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->feature_shape, data.feature_shape);
  EXPECT_EQ(back->labels, data.labels);
  ASSERT_EQ(back->features.size(), data.features.size());
  for (std::size_t i = 0; i < data.features.size(); ++i)
    EXPECT_FLOAT_EQ(back->features[i], data.features[i]) << i;
}

TEST(IdxEncode, ClampsOutOfRangeAndNanPixels) {
  Dataset data;
  data.feature_shape = {1, 1, 4};
  data.features = {-0.5f, 1.5f, std::numeric_limits<float>::quiet_NaN(), 0.5f};
  data.labels = {1};
  const auto images = encode_idx_images(data);
  ASSERT_TRUE(images);
  const auto array = parse_idx(*images);
  ASSERT_TRUE(array);
  EXPECT_EQ(array->data, (std::vector<std::uint8_t>{0, 255, 0, 128}));
}

TEST(IdxEncode, RejectsWhatIdxCannotHold) {
  Dataset flat;  // a CSV-style feature vector, not an image
  flat.feature_shape = {4};
  flat.features = {0, 0, 0, 0};
  flat.labels = {0};
  const auto not_images = encode_idx_images(flat);
  ASSERT_FALSE(not_images);
  EXPECT_NE(not_images.error().message.find("1 x H x W"), std::string::npos);

  auto short_features = tiny_images();
  short_features.features.pop_back();
  const auto inconsistent = encode_idx_images(short_features);
  ASSERT_FALSE(inconsistent);
  EXPECT_NE(inconsistent.error().message.find("feature values"), std::string::npos);

  auto big_label = tiny_images();
  big_label.labels[1] = 300;
  const auto labels = encode_idx_labels(big_label);
  ASSERT_FALSE(labels);
  EXPECT_NE(labels.error().message.find("label 300"), std::string::npos);
  big_label.labels[1] = -1;
  EXPECT_FALSE(encode_idx_labels(big_label));
}

TEST(IdxEncode, FashionMnistTestSetWritesBackByteForByte) {
  const auto dir = kFashionMnistDir;
  if (!std::filesystem::exists(dir / "t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "no Fashion-MNIST";
  const auto images = read_maybe_gzip(dir / "t10k-images-idx3-ubyte.gz");
  const auto labels = read_maybe_gzip(dir / "t10k-labels-idx1-ubyte.gz");
  ASSERT_TRUE(images && labels);
  const auto image_array = parse_idx(*images);
  const auto label_array = parse_idx(*labels);
  ASSERT_TRUE(image_array && label_array);
  const auto data = dataset_from_idx(*image_array, *label_array);
  ASSERT_TRUE(data);
  const auto images_again = encode_idx_images(*data);
  const auto labels_again = encode_idx_labels(*data);
  ASSERT_TRUE(images_again && labels_again);
  EXPECT_TRUE(equal(*images_again, *images));
  EXPECT_TRUE(equal(*labels_again, *labels));
}

TEST(CsvFormat, RoundTripsThroughTheParser) {
  const std::vector<std::vector<std::string>> rows = {
      {"name", "note", "label"},
      {"plain", "has,comma", "a"},
      {"quote \"inside\"", "line\nbreak", "b"},
      {"", "cr\rhere", "c"},
  };
  const auto text = format_csv_rows(rows);
  const auto parsed = parse_csv_rows(text);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, rows);
  const auto semicolons = parse_csv_rows(format_csv_rows(rows, ';'), ';');
  ASSERT_TRUE(semicolons);
  EXPECT_EQ(*semicolons, rows);
  EXPECT_EQ(format_csv_rows({{"a", "b"}}), "a,b\n");
}

}  // namespace
}  // namespace cairn::learn
