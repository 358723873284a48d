"""pages/render"""
