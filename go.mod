module github.com/litefy/litefy

go 1.26
