module github.com/plinth-os/plinth/build/pause

go 1.26.0
