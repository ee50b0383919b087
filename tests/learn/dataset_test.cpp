#include "learn/dataset.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <numeric>
#include <span>

#include "learn/quality.hpp"
#include "learn/rng.hpp"
#include "testing/testing.hpp"

namespace cairn::learn {
namespace {

Bytes idx_bytes(std::uint8_t rank, std::vector<std::uint32_t> dims,
                std::vector<std::uint8_t> data) {
  Bytes out{std::byte{0}, std::byte{0}, std::byte{0x08}, std::byte{rank}};
  for (auto d : dims)
    append_be(out, d, 4);
  for (auto v : data)
    out.push_back(std::byte{v});
  return out;
}

Bytes gzip(ByteView data) {
  z_stream s{};
  deflateInit2(&s, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  Bytes out(compressBound(static_cast<uLong>(data.size())) + 64);
  s.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

TEST(Idx, ParsesImagesAndLabels) {
  const auto images = parse_idx(idx_bytes(3, {2, 2, 2}, {0, 255, 51, 102, 1, 2, 3, 4}));
  const auto labels = parse_idx(idx_bytes(1, {2}, {3, 1}));
  ASSERT_TRUE(images && labels);
  const auto data = dataset_from_idx(*images, *labels);
  ASSERT_TRUE(data);
  EXPECT_EQ(data->rows(), 2u);
  EXPECT_EQ(data->feature_shape, (std::vector<std::int64_t>{1, 2, 2}));
  EXPECT_FLOAT_EQ(data->features[1], 1.0f);
  EXPECT_FLOAT_EQ(data->features[2], 0.2f);
  EXPECT_EQ(data->labels, (std::vector<std::int64_t>{3, 1}));
  EXPECT_EQ(data->num_classes, 4);
}

TEST(Idx, RejectsMalformedFiles) {
  EXPECT_FALSE(parse_idx(Bytes{}));
  EXPECT_NE(parse_idx(idx_bytes(1, {3}, {1, 2})).error().message.find("promise 3 bytes"),
            std::string::npos);
  auto bad_magic = idx_bytes(1, {1}, {1});
  bad_magic[0] = std::byte{1};
  EXPECT_FALSE(parse_idx(bad_magic));
  auto floats = idx_bytes(1, {1}, {1});
  floats[2] = std::byte{0x0d};
  EXPECT_EQ(parse_idx(floats).error().code, Errc::unsupported);
  EXPECT_FALSE(parse_idx(idx_bytes(0, {}, {})));
  const auto truncated_header =
      Bytes{std::byte{0}, std::byte{0}, std::byte{8}, std::byte{3}, std::byte{0}};
  EXPECT_FALSE(parse_idx(truncated_header));
}

TEST(Idx, MismatchedImageAndLabelCounts) {
  const auto images = parse_idx(idx_bytes(3, {2, 1, 1}, {1, 2}));
  const auto labels = parse_idx(idx_bytes(1, {3}, {1, 2, 3}));
  EXPECT_FALSE(dataset_from_idx(*images, *labels));
}

TEST(Gzip, InflatesAndRejectsTruncation) {
  const auto raw = testing::pseudo_random_bytes(100000, 5);
  const auto packed = gzip(raw);
  const auto back = gunzip(packed);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, raw);
  EXPECT_FALSE(gunzip(ByteView(packed).first(packed.size() / 2)));
  EXPECT_FALSE(gunzip(to_bytes(std::string_view("not gzip at all"))));
  EXPECT_FALSE(gunzip(packed, 1000));  // over the output limit
}

TEST(FashionMnist, LoadsDebianFiles) {
  if (!std::filesystem::exists(kFashionMnistDir))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const auto data = load_fashion_mnist();
  ASSERT_TRUE(data) << data.error().to_string();
  EXPECT_EQ(data->train.rows(), 60000u);
  EXPECT_EQ(data->test.rows(), 10000u);
  EXPECT_EQ(data->train.num_classes, 10);
  const auto report = quality_report(data->test);
  EXPECT_EQ(report.label_counts, std::vector<std::size_t>(10, 1000));
  EXPECT_NEAR(report.label_balance, 1.0, 1e-12);
}

constexpr std::string_view kSchema = R"(# iris-like
sepal:number
petal:number
colour:category:red|green|blue
id:ignore
species:label:setosa|versicolor|virginica
)";

TEST(Csv, ReadsRowsAgainstSchema) {
  const auto schema = parse_csv_schema(kSchema);
  ASSERT_TRUE(schema) << schema.error().to_string();
  const std::string text =
      "sepal,petal,colour,id,species\n"
      "5.1,1.4,red,1,setosa\n"
      "\"6.0\",4.5,blue,2,versicolor\r\n"
      "7.7,,green,3,virginica\n"  // missing number
      "1,2,purple,4,setosa\n"     // unknown category
      "1,2,red,5,unicorn\n"       // unknown label: rejected
      "1,2,red,6\n"               // wrong column count: rejected
      "5.1,1.4,red,1,setosa\n";   // duplicate of row 1
  const auto csv = read_csv(text, *schema);
  ASSERT_TRUE(csv) << csv.error().to_string();
  EXPECT_EQ(csv->rows_read, 7u);
  EXPECT_EQ(csv->data.rows(), 5u);
  EXPECT_EQ(csv->data.feature_shape, (std::vector<std::int64_t>{5}));
  EXPECT_EQ(csv->data.labels, (std::vector<std::int64_t>{0, 1, 2, 0, 0}));
  // The records the kept rows came from (the header is record 0).
  EXPECT_EQ(csv->source_rows, (std::vector<std::size_t>{1, 2, 3, 4, 7}));
  EXPECT_FLOAT_EQ(csv->data.features[5 + 0], 6.0f);
  EXPECT_FLOAT_EQ(csv->data.features[5 + 4], 1.0f);  // blue one-hot
  EXPECT_EQ(csv->issues.missing_values, 1u);
  EXPECT_EQ(csv->issues.nonconforming_cells, 2u);
  EXPECT_EQ(csv->issues.rejected_rows, 2u);
  const auto report = quality_report(*csv, schema->columns.size());
  EXPECT_EQ(report.duplicate_rows, 1u);
  EXPECT_EQ(report.rejected_rows, 2u);
  EXPECT_NEAR(report.schema_conformance, 5.0 / 7.0, 1e-12);
  EXPECT_EQ(report.label_counts, (std::vector<std::size_t>{3, 1, 1}));
}

TEST(SplitRows, HoldsOutAFifthBySeedAndKeepsEveryRowOnce) {
  const auto split = split_rows(103, 5, 42);
  ASSERT_TRUE(split) << split.error().to_string();
  EXPECT_EQ(split->test.size(), 20u);  // floor(0.2 * 103)
  EXPECT_EQ(split->train.size(), 83u);
  std::vector<std::size_t> all = split->train;
  all.insert(all.end(), split->test.begin(), split->test.end());
  std::sort(all.begin(), all.end());
  for (std::size_t i = 0; i < all.size(); ++i)
    ASSERT_EQ(all[i], i);
  // Deterministic per seed, different across seeds.
  const auto again = split_rows(103, 5, 42);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->test, split->test);
  EXPECT_EQ(again->train, split->train);
  const auto other = split_rows(103, 5, 43);
  ASSERT_TRUE(other);
  EXPECT_NE(other->test, split->test);
  // The shuffle is the documented one: xoshiro256** on derive_seed(seed, kSplitPurpose).
  std::vector<std::size_t> order(103);
  std::iota(order.begin(), order.end(), std::size_t{0});
  Rng rng(derive_seed(42, kSplitPurpose));
  rng.shuffle(std::span(order));
  EXPECT_EQ(split->test, std::vector<std::size_t>(order.begin(), order.begin() + 20));
}

TEST(SplitRows, TestRowsAreCappedAndTooFewRowsRefused) {
  const auto asked = split_rows(50, 3, 1, 7);
  ASSERT_TRUE(asked);
  EXPECT_EQ(asked->test.size(), 7u);
  // The same seed holds out the same first rows of its shuffle, whatever the count.
  const auto more = split_rows(50, 3, 1, 10);
  ASSERT_TRUE(more);
  EXPECT_EQ(asked->test, std::vector<std::size_t>(more->test.begin(), more->test.begin() + 7));
  // At least one row per client stays for training.
  const auto capped = split_rows(50, 3, 1, 1000);
  ASSERT_TRUE(capped);
  EXPECT_EQ(capped->train.size(), 3u);
  EXPECT_EQ(capped->test.size(), 47u);
  // A tiny dataset still tests on one row.
  EXPECT_EQ(split_rows(4, 2, 1)->test.size(), 1u);
  const auto too_few = split_rows(5, 3, 1);
  ASSERT_FALSE(too_few);
  EXPECT_EQ(too_few.error().code, Errc::invalid_argument);
  EXPECT_NE(too_few.error().message.find("too few for 3 clients"), std::string::npos);
  EXPECT_FALSE(split_rows(10, 0, 1));
}

TEST(Csv, RejectsHeaderThatDoesNotMatchSchema) {
  const auto schema = parse_csv_schema(kSchema);
  const auto csv = read_csv("a,b,c,d,e\n1,2,red,1,setosa\n", *schema);
  ASSERT_FALSE(csv);
  EXPECT_NE(csv.error().message.find("schema says 'sepal'"), std::string::npos);
}

TEST(Csv, RejectsMalformedQuoting) {
  EXPECT_FALSE(parse_csv_rows("a,\"unterminated\n"));
  EXPECT_FALSE(parse_csv_rows("a,b\"c\n"));
  EXPECT_FALSE(parse_csv_rows("\"a\"b\n"));
  const auto rows = parse_csv_rows("\"a,\"\"b\"\"\",c\n");
  ASSERT_TRUE(rows);
  EXPECT_EQ((*rows)[0][0], "a,\"b\"");
}

TEST(CsvSchema, RejectsBadSchemas) {
  EXPECT_FALSE(parse_csv_schema("x:number\n"));                      // no label
  EXPECT_FALSE(parse_csv_schema("x:label:a|b\ny:label:c|d\n"));      // two labels
  EXPECT_FALSE(parse_csv_schema("x:float\ny:label:a|b\n"));          // unknown type
  EXPECT_FALSE(parse_csv_schema("x:category\ny:label:a|b\n"));       // no values
  EXPECT_FALSE(parse_csv_schema("x:number:1|2\ny:label:a|b\n"));     // values on a number
  EXPECT_FALSE(parse_csv_schema("x:category:a||b\ny:label:a|b\n"));  // empty value
}

}  // namespace
}  // namespace cairn::learn
