"""stores/questionlog"""
