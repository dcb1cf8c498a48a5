#include "sabot/connectors/codec/schema_registry.h"

#include <gtest/gtest.h>

#include "sabot/connectors/codec/fake_schema_registry.h"

namespace sabot {
namespace {

constexpr char kSchema[] =
    R"({"type":"record","name":"r","fields":[{"name":"s","type":"string"}]})";

std::unique_ptr<SchemaRegistryClient> Connect(const std::string& url) {
  auto client = SchemaRegistryClient::Make(url);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? *std::move(client) : nullptr;
}

TEST(SchemaRegistryTest, RegisterPostsTheSchemaAsAnEscapedJsonString) {
  testing::FakeSchemaRegistry registry;
  auto client = Connect(registry.url());
  auto id = client->Register("orders-value", kSchema);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(*id, 1);

  const auto requests = registry.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].path, "/subjects/orders-value/versions");
  EXPECT_EQ(requests[0].content_type, "application/vnd.schemaregistry.v1+json");
  EXPECT_EQ(requests[0].body,
            R"({"schema":"{\"type\":\"record\",\"name\":\"r\",\"fields\":)"
            R"([{\"name\":\"s\",\"type\":\"string\"}]}"})");
}

TEST(SchemaRegistryTest, RegisteringTheSameSchemaAgainReturnsItsId) {
  testing::FakeSchemaRegistry registry;
  const int32_t other = registry.Add("other-value", R"("string")");
  auto client = Connect(registry.url());
  auto first = client->Register("orders-value", kSchema);
  auto second = client->Register("orders-value", kSchema);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, other);
  EXPECT_EQ(*first, *second);
}

TEST(SchemaRegistryTest, GetSchemaByIdFetchesOnceThenCaches) {
  testing::FakeSchemaRegistry registry;
  const int32_t id = registry.Add("orders-value", kSchema);
  auto client = Connect(registry.url());
  for (int i = 0; i < 3; ++i) {
    auto schema = client->GetSchemaById(id);
    ASSERT_TRUE(schema.ok()) << schema.status().ToString();
    EXPECT_EQ(*schema, kSchema);
  }
  const auto requests = registry.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].path, "/schemas/ids/" + std::to_string(id));
}

TEST(SchemaRegistryTest, GetLatestReturnsIdAndSchemaOfTheNewestVersion) {
  testing::FakeSchemaRegistry registry;
  registry.Add("orders value", R"("string")");
  const int32_t newest = registry.Add("orders value", kSchema);
  auto client = Connect(registry.url());
  auto latest = client->GetLatest("orders value");
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->first, newest);
  EXPECT_EQ(latest->second, kSchema);
  // Subjects are free text: the space is percent-encoded in the path.
  EXPECT_EQ(registry.requests().back().target,
            "/subjects/orders%20value/versions/latest");
}

TEST(SchemaRegistryTest, RegistryErrorsQuoteCodeMessageAndUrl) {
  testing::FakeSchemaRegistry registry;
  auto client = Connect(registry.url());
  auto missing = client->GetSchemaById(42);
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsIOError());
  EXPECT_EQ(missing.status().message(),
            "schema registry: GET " + registry.url() +
                "/schemas/ids/42 returned error 40403: Schema 42 not found");

  auto no_subject = client->GetLatest("nope");
  ASSERT_FALSE(no_subject.ok());
  EXPECT_NE(no_subject.status().message().find("error 40401: Subject 'nope' not found."),
            std::string::npos)
      << no_subject.status().ToString();
}

TEST(SchemaRegistryTest, UrlPathIsAPrefixOfEveryRequest) {
  testing::FakeSchemaRegistry registry;
  auto client = Connect(registry.url() + "/apis/ccompat/v7/");
  auto id = client->Register("orders-value", kSchema);
  // The fake serves no prefix: the request arrives, and is not found there.
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(registry.requests().size(), 0u);
  EXPECT_NE(id.status().message().find("POST " + registry.url() +
                                       "/apis/ccompat/v7/subjects/orders-value/versions "
                                       "returned HTTP 404"),
            std::string::npos)
      << id.status().ToString();
}

TEST(SchemaRegistryTest, UnreachableRegistryFailsWithTheUrl) {
  std::string url;
  {
    // A port that was just free, and is again once the server is gone.
    testing::FakeSchemaRegistry registry;
    url = registry.url();
  }
  auto client = Connect(url);
  auto schema = client->GetSchemaById(1);
  ASSERT_FALSE(schema.ok());
  EXPECT_TRUE(schema.status().IsIOError());
  EXPECT_NE(schema.status().message().find("GET " + url + "/schemas/ids/1 failed"),
            std::string::npos)
      << schema.status().ToString();
}

TEST(SchemaRegistryTest, RejectsUrlsThatAreNotHttp) {
  auto https = SchemaRegistryClient::Make("https://registry:8081");
  ASSERT_FALSE(https.ok());
  EXPECT_TRUE(https.status().IsNotImplemented());
  EXPECT_NE(https.status().message().find("only http://"), std::string::npos);

  EXPECT_TRUE(SchemaRegistryClient::Make("registry:8081").status().IsNotImplemented());
  EXPECT_TRUE(SchemaRegistryClient::Make("http://registry:99999").status().IsInvalid());
  EXPECT_TRUE(SchemaRegistryClient::Make("http://:8081").status().IsInvalid());
  EXPECT_TRUE(SchemaRegistryClient::Make("http://registry").ok());
}

}  // namespace
}  // namespace sabot
