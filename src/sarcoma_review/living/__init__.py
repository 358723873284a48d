"""living"""
