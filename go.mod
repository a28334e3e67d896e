module github.com/roam-sh/roam

go 1.26.8
