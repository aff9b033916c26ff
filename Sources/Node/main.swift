print("tandemd")
